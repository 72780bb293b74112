//! Where a join comes from, for the per-address join limit and the CAPTCHA verifier's
//! `remoteip`. In the edge it is the TCP peer, or, when the peer is a trusted proxy, the
//! right-most `X-Forwarded-For` hop that is not itself one: the rule of the edge's own
//! rate limits (`urr_auth::client_address`). On Lambda it is the client address API Gateway saw (the request
//! context's `sourceIp`), which no client header can change.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use lambda_http::request::RequestContext;

pub use urr_auth::client_address::{IpNet, client_ip};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// What a request says about its origin before the trusted proxies are applied, and the
/// access token it presents; only these are taken from the headers (no copy of them all).
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// The TCP peer (served by axum with connect info: the edge, the local server).
    pub peer: Option<IpAddr>,
    /// API Gateway's `sourceIp` (on Lambda).
    pub gateway: Option<IpAddr>,
    /// The request's `X-Forwarded-For` lines, all the address rule reads.
    pub forwarded: HeaderMap,
    /// The access token, from `Authorization: Bearer` or the edge's cookie.
    pub access: Option<String>,
}

impl Origin {
    /// The client address, if the request carries any.
    pub fn client(&self, trusted: &[IpNet]) -> Option<IpAddr> {
        if let Some(ip) = self.gateway {
            return Some(ip.to_canonical());
        }
        self.peer
            .map(|peer| client_ip(peer, &self.forwarded, trusted))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let gateway = parts
            .extensions
            .get::<RequestContext>()
            .and_then(source_ip)
            .and_then(|ip| ip.parse().ok());
        let mut forwarded = HeaderMap::new();
        for value in parts.headers.get_all(X_FORWARDED_FOR) {
            forwarded.append(X_FORWARDED_FOR, value.clone());
        }
        Ok(Origin {
            peer,
            gateway,
            forwarded,
            access: crate::identity::access_token(&parts.headers),
        })
    }
}

fn source_ip(context: &RequestContext) -> Option<&str> {
    match context {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.as_deref(),
        RequestContext::WebSocket(ctx) => ctx.identity.source_ip.as_deref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn the_gateway_address_wins_over_headers() {
        let origin = Origin {
            peer: Some(ip("10.1.2.3")),
            gateway: Some(ip("198.51.100.7")),
            forwarded: xff("1.1.1.1"),
            access: None,
        };
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        assert_eq!(origin.client(&trusted), Some(ip("198.51.100.7")));
        assert_eq!(Origin::default().client(&trusted), None);
    }
}
