//! The one mapping from a provider's HTTP answer to an [`ElementError`], used by every adapter:
//! 2xx is the answer; 401 means the token was refused; 429 asks us to slow down (for
//! `Retry-After` seconds if given); other 4xx are the provider refusing the request, with the
//! provider's own message; 5xx and unreadable answers are worth retrying later.

use serde_json::Value;

use crate::ElementError;

/// A provider's answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
    /// `Elements-Next-Page-Token`, for polled APIs that page that way.
    pub next_page: Option<String>,
    pub text: String,
}

/// The most of a provider's answer Herald reads; a larger one is refused, not buffered.
pub const ANSWER_LIMIT: usize = 32 * 1024 * 1024;

/// The body as text, up to [`ANSWER_LIMIT`] bytes.
async fn read_capped(mut resp: reqwest::Response) -> Result<String, ElementError> {
    if resp
        .content_length()
        .is_some_and(|n| n as usize > ANSWER_LIMIT)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > ANSWER_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn too_large() -> ElementError {
    ElementError::Provider {
        status: 502,
        message: format!("the provider's answer is over {ANSWER_LIMIT} bytes"),
    }
}

impl Answer {
    /// Reads the status, the headers callers need, and the body.
    pub async fn read(resp: reqwest::Response) -> Result<Self, ElementError> {
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        // A provider's number, clamped: a day at most.
        let retry_after_secs = header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| s.min(86_400));
        let next_page = header("elements-next-page-token");
        let text = read_capped(resp).await?;
        Ok(Self {
            status,
            retry_after_secs,
            next_page,
            text,
        })
    }

    /// The answer if it is a 2xx, else the error it means.
    pub fn success(self) -> Result<Self, ElementError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(self.error())
        }
    }

    /// The body as JSON (an empty body is `null`); `what` names the answer in the error.
    pub fn json(&self, what: &str) -> Result<Value, ElementError> {
        if self.text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&self.text).map_err(|_| ElementError::Provider {
            status: 502,
            message: format!("unreadable {what}"),
        })
    }

    /// The error a non-2xx answer means, with the provider's message when it gave one.
    pub fn error(&self) -> ElementError {
        let message = self.message();
        match self.status {
            401 => ElementError::Unauthorized(message),
            429 => ElementError::RateLimited {
                retry_after_secs: self.retry_after_secs,
            },
            400..=499 => ElementError::Rejected {
                status: self.status,
                message,
            },
            status => ElementError::Provider { status, message },
        }
    }

    /// The provider's reason, in whichever shape it uses (`error`/`error_description` of
    /// OAuth, `status`/`message` of HubSpot, `message` of Box, Dropbox's `error_summary`), else
    /// the start of the body.
    fn message(&self) -> String {
        let v: Value = serde_json::from_str(&self.text).unwrap_or(Value::Null);
        let pick = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(summary) = pick("error_summary") {
            return summary;
        }
        if let Some(m) = pick("message").filter(|_| v.get("type").is_some()) {
            return m; // Box: {"type":"error","status":409,"code":…,"message":…}
        }
        let reason = [
            pick("error").or(pick("status")),
            pick("error_description").or(pick("message")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
        if reason.is_empty() {
            self.text.chars().take(200).collect()
        } else {
            reason
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, text: &str) -> Answer {
        Answer {
            status,
            retry_after_secs: Some(7),
            next_page: None,
            text: text.into(),
        }
    }

    #[test]
    fn statuses_map_to_kinds_with_the_providers_message() {
        assert!(matches!(
            answer(401, "").error(),
            ElementError::Unauthorized(_)
        ));
        assert!(matches!(
            answer(429, "").error(),
            ElementError::RateLimited {
                retry_after_secs: Some(7)
            }
        ));
        let boxed = answer(
            409,
            r#"{"type":"error","status":409,"code":"conflict","message":"Webhook:1 already exists"}"#,
        );
        match boxed.error() {
            ElementError::Rejected { status, message } => {
                assert_eq!(
                    (status, message.as_str()),
                    (409, "Webhook:1 already exists")
                )
            }
            other => panic!("{other:?}"),
        }
        match answer(
            400,
            r#"{"error":"invalid_grant","error_description":"bad code"}"#,
        )
        .error()
        {
            ElementError::Rejected { message, .. } => {
                assert_eq!(message, "invalid_grant: bad code")
            }
            other => panic!("{other:?}"),
        }
        assert!(answer(503, "down").error().is_transient());
        assert!(answer(204, "").success().is_ok());
        assert_eq!(answer(200, "").json("x").ok(), Some(Value::Null));
    }
}
