use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("token has expired")]
    Expired,
    /// Malformed, forged, of the wrong kind, or for someone or something else.
    #[error("token is invalid: {0}")]
    Invalid(String),
    #[error("Google sign-in is not configured")]
    GoogleDisabled,
    /// Google's keys could not be fetched; the caller may retry later.
    #[error("identity provider unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        match err.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid(err.to_string()),
        }
    }
}
