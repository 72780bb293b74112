//! Where a join comes from, for the per-address join limit and the CAPTCHA verifier's
//! `remoteip`. In the edge it is the TCP peer, or, when the peer is a trusted proxy, the
//! right-most `X-Forwarded-For` hop that is not itself one: the rule of the edge's own
//! rate limits (`docs/architecture.md#the-gateway`), kept here because this crate sits
//! below the edge. On Lambda it is the client address API Gateway saw (the request
//! context's `sourceIp`), which no client header can change.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

/// An address or a network, e.g. `10.0.0.0/8`, `::1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a bad prefix length"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// The client's address behind `peer`, believing `X-Forwarded-For` only from `trusted`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        // A hop we cannot read ends the chain: what lies left of it is unverifiable.
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// What a request says about its origin before the trusted proxies are applied.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// The TCP peer (served by axum with connect info: the edge, the local server).
    pub peer: Option<IpAddr>,
    /// API Gateway's `sourceIp` (on Lambda).
    pub gateway: Option<IpAddr>,
    pub headers: HeaderMap,
}

impl Origin {
    /// The client address, if the request carries any.
    pub fn client(&self, trusted: &[IpNet]) -> Option<IpAddr> {
        if let Some(ip) = self.gateway {
            return Some(ip.to_canonical());
        }
        self.peer
            .map(|peer| client_ip(peer, &self.headers, trusted))
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
        Ok(Origin {
            peer,
            gateway,
            headers: parts.headers.clone(),
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
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let peer = ip("203.0.113.9");
        assert_eq!(client_ip(peer, &xff("1.1.1.1"), &trusted), peer);
        let proxy = ip("10.1.2.3");
        assert_eq!(client_ip(proxy, &xff("1.1.1.1"), &trusted), ip("1.1.1.1"));
        assert_eq!(
            client_ip(proxy, &xff("6.6.6.6, 1.1.1.1, 10.0.0.7"), &trusted),
            ip("1.1.1.1")
        );
        assert_eq!(client_ip(proxy, &xff("1.1.1.1, garbage"), &trusted), proxy);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
    }

    #[test]
    fn the_gateway_address_wins_over_headers() {
        let origin = Origin {
            peer: Some(ip("10.1.2.3")),
            gateway: Some(ip("198.51.100.7")),
            headers: xff("1.1.1.1"),
        };
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        assert_eq!(origin.client(&trusted), Some(ip("198.51.100.7")));
        assert_eq!(Origin::default().client(&trusted), None);
    }
}
