// Rebuild the binary when the front end's output changes: the site is embedded in it.
fn main() {
    println!("cargo:rerun-if-changed=../target/site");
}
