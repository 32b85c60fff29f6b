//! Password rules and argon2id hashing.

use std::sync::LazyLock;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::FieldError;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (long enough for passphrases, short enough to hash cheaply).
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// argon2id with OWASP's minimum parameters: 19 MiB, two passes, one lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the rules.
pub fn check_new(password: &str, username: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(FieldError::new(
            "too_short",
            format!("at least {MIN_LEN} characters"),
        ));
    }
    if len > MAX_LEN {
        return Err(FieldError::new(
            "too_long",
            format!("at most {MAX_LEN} characters"),
        ));
    }
    let lower = password.to_lowercase();
    if COMMON.iter().any(|c| *c == lower) || lower == username.to_lowercase() {
        return Err(FieldError::new(
            "too_common",
            "this password is too easy to guess; choose another",
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// True when `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of nothing, verified against when a username is unknown so both paths take as long.
pub static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("qudao-no-such-user-placeholder").expect("hashing the dummy password"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_argon2id() {
        let h = hash("桃花源里的苹果树").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("桃花源里的苹果树", &h));
        assert!(!verify("桃花源里的苹果", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn rules_refuse_short_long_and_common_passwords() {
        assert_eq!(check_new("short", "u").unwrap_err().code, "too_short");
        assert_eq!(
            check_new(&"x".repeat(129), "u").unwrap_err().code,
            "too_long"
        );
        assert_eq!(check_new("Password1", "u").unwrap_err().code, "too_common");
        assert_eq!(
            check_new("zilong-apples", "zilong-apples")
                .unwrap_err()
                .code,
            "too_common"
        );
        assert!(check_new("孜龙村的苹果很甜", "u").is_ok());
        assert!(check_new(&"x".repeat(128), "u").is_ok());
    }
}
