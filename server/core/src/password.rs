//! Password policy: what a new password must satisfy before it is hashed.

/// Shortest accepted password, in characters (NIST SP 800-63B asks for at least 8; we ask 12).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes: bounds the work argon2 does on attacker input.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort,
    TooLong,
    SameAsEmail,
}

impl PasswordRejection {
    pub fn message(self) -> String {
        match self {
            PasswordRejection::TooShort => {
                format!("The password must have at least {MIN_PASSWORD_CHARS} characters.")
            }
            PasswordRejection::TooLong => {
                format!("The password must have at most {MAX_PASSWORD_BYTES} bytes.")
            }
            PasswordRejection::SameAsEmail => {
                "The password must not be the same as the email address.".to_string()
            }
        }
    }
}

/// Checks a new password for an account with the given email.
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordRejection> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordRejection::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordRejection::TooShort);
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(PasswordRejection::SameAsEmail);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_email_passwords_are_refused() {
        assert_eq!(check_new_password("short", "a@b.c"), Err(PasswordRejection::TooShort));
        assert_eq!(
            check_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1), "a@b.c"),
            Err(PasswordRejection::TooLong)
        );
        assert_eq!(
            check_new_password("Someone@Example.com", "someone@example.com"),
            Err(PasswordRejection::SameAsEmail)
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 12 characters, 24 bytes.
        assert_eq!(check_new_password("éééééééééééé", "a@b.c"), Ok(()));
        assert_eq!(check_new_password("ééééééééééé", "a@b.c"), Err(PasswordRejection::TooShort));
    }

    #[test]
    fn a_reasonable_password_passes() {
        assert_eq!(check_new_password("correct horse battery", "a@b.c"), Ok(()));
    }
}
