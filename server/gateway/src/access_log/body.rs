//! The response body that carries a request's access-log record until it is sent.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Buf;
use hyper::body::{Body, Frame, SizeHint};

use super::{AccessLog, AccessRecord};

/// A response body that counts the bytes it yields and queues its record when it is dropped
/// (hyper drops it once sent, or when the client goes away).
pub struct LoggedBody<B> {
    inner: B,
    record: Option<AccessRecord>,
    log: Arc<AccessLog>,
}

impl<B> LoggedBody<B> {
    pub fn new(inner: B, record: AccessRecord, log: Arc<AccessLog>) -> LoggedBody<B> {
        LoggedBody { inner, record: Some(record), log }
    }
}

impl<B: Body + Unpin> Body for LoggedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let (Poll::Ready(Some(Ok(frame))), Some(record)) = (&polled, this.record.as_mut()) {
            if let Some(data) = frame.data_ref() {
                record.bytes += data.remaining() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for LoggedBody<B> {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            self.log.record(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::super::tests::record;
    use super::*;

    #[tokio::test]
    async fn a_logged_body_counts_its_bytes_and_logs_once_when_dropped() {
        use http_body_util::{BodyExt, Full};
        let (log, records) = AccessLog::queue(8, Counter::default());
        let log = Arc::new(log);
        let unsent = AccessRecord { bytes: 0, ..record() };
        let body = LoggedBody::new(Full::new(bytes::Bytes::from_static(b"hello world")), unsent.clone(), Arc::clone(&log));
        assert!(records.try_recv().is_err(), "nothing before the body is done");
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"hello world");
        let logged = records.try_recv().unwrap();
        assert_eq!(logged.bytes, 11);
        assert!(records.try_recv().is_err(), "one line per request");
        // A body the client never read is logged too, with no bytes.
        drop(LoggedBody::new(Full::new(bytes::Bytes::from_static(b"x")), unsent, log));
        assert_eq!(records.try_recv().unwrap().bytes, 0);
    }
}
