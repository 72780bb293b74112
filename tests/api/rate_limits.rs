//! Gateway rate limits (`docs/architecture.md#the-gateway`): per route class and caller, a sliding window in Redis,
//! an in-memory fallback at double the limit when Redis is down, and client addresses that
//! only trusted proxies can forward.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{Session, TestApp, assert_error, spawn_app_with, spawn_app_with_redis};
use reqwest::{Response, StatusCode};
use urr_http::HttpConfig;

/// GET /api/v1/auth/me (auth class), optionally signed in and with `X-Forwarded-For`.
async fn me(app: &TestApp, session: Option<&Session>, xff: Option<&str>) -> Response {
    let mut request = app.client.get(app.url("/api/v1/auth/me"));
    if let Some(session) = session {
        request = request.bearer_auth(&session.access);
    }
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.expect("GET /auth/me")
}

async fn assert_limited(response: Response) -> u64 {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    retry_after
}

#[tokio::test]
async fn the_61st_auth_call_in_a_minute_is_refused_with_retry_after() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = true).await;
    assert_eq!(app.config.rate_limits.rate_limit_auth_per_min, 60);
    for i in 0..60 {
        let response = me(&app, None, None).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "call {}",
            i + 1
        );
    }
    assert_limited(me(&app, None, None).await).await;
    // Other classes have their own windows, and the probes are never limited.
    assert_eq!(app.get("/api/v1/events").await.status(), StatusCode::OK);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

/// Calls arriving together reach Redis in batches (`docs/architecture.md#the-gateway`):
/// of many at once from a few callers, each caller gets exactly its limit through, in
/// fewer script calls than calls (counted by a Redis of this test's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_calls_arriving_together_each_caller_gets_exactly_its_limit() {
    let redis = PrivateRedis::start(None).await;
    let app = redis
        .app(|c| c.rate_limits.rate_limit_auth_per_min = 10)
        .await;
    let mut conn = app.kv.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .expect("CONFIG RESETSTAT");
    calls_arriving_together(&app, &["10.0.0.1", "10.0.0.2", "10.0.0.3"], 10).await;
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    let scripts: u64 = stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| l.split(['=', ',']).nth(1)?.parse::<u64>().ok())
        .sum();
    println!("90 limited calls in {scripts} script calls");
    assert!(
        (1..90).contains(&scripts),
        "hits that arrived together shared a script call: {scripts} calls for 90"
    );
}

/// Sends three times `limit` calls from each of `callers` (client addresses behind a
/// trusted proxy) at once to an app whose sign-in class allows `limit` a minute, and
/// asserts each caller got exactly `limit` through and the rest refused.
pub(crate) async fn calls_arriving_together(app: &TestApp, callers: &[&str], limit: usize) {
    let calls = (0..callers.len() * limit * 3).map(|i| {
        let caller = callers[i % callers.len()];
        async move { (caller, me(app, None, Some(caller)).await.status()) }
    });
    let answers = futures::future::join_all(calls).await;
    for caller in callers {
        let count = |status| {
            answers
                .iter()
                .filter(|(c, s)| c == caller && *s == status)
                .count()
        };
        assert_eq!(
            (
                count(StatusCode::UNAUTHORIZED),
                count(StatusCode::TOO_MANY_REQUESTS)
            ),
            (limit, limit * 2),
            "caller {caller}: through and refused"
        );
    }
}

#[tokio::test]
async fn signed_in_callers_are_limited_per_user() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_auth_per_min = 3;
    })
    .await;
    let alice = app.quick_user("alice").await;
    let bob = app.quick_user("bob").await;
    for _ in 0..3 {
        assert_eq!(me(&app, Some(&alice), None).await.status(), StatusCode::OK);
    }
    assert_limited(me(&app, Some(&alice), None).await).await;
    // Bob shares Alice's address but not her window; nor does an anonymous caller.
    assert_eq!(me(&app, Some(&bob), None).await.status(), StatusCode::OK);
    assert_eq!(
        me(&app, None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A forged token does not buy a fresh window: it counts as the address.
    let forged = Session {
        access: "not.a.token".into(),
        ..bob.clone()
    };
    assert_eq!(
        me(&app, Some(&forged), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(&app, Some(&forged), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_limited(me(&app, Some(&forged), None).await).await;
}

/// The limiter verifies a caller's token, and the route takes the verification from it
/// instead of checking the signature again: each caller is still the one their own token
/// names, and a token the limiter did not accept is still refused by the route.
#[tokio::test]
async fn a_token_the_limiter_verified_names_its_own_caller() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = true).await;
    let alice = app.quick_user("alice").await;
    let bob = app.quick_user("bob").await;
    for session in [&alice, &bob, &alice] {
        let response = me(&app, Some(session), None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["user"]["id"], session.user_id.to_string(), "{body}");
    }
    let tampered = Session {
        access: format!("{}x", alice.access),
        ..alice.clone()
    };
    assert_eq!(
        me(&app, Some(&tampered), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// POST /api/v1/auth/login for `email` (a wrong password), with a bearer token and a
/// forwarded address when given.
async fn login(
    app: &crate::common::TestApp,
    email: &str,
    token: Option<&str>,
    xff: Option<&str>,
) -> Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": "not-the-password"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.expect("POST /auth/login")
}

#[tokio::test]
async fn sign_in_is_counted_by_address_whatever_token_comes_along() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_auth_per_min = 3;
    })
    .await;
    // Each attempt brings a fresh, valid token of another account of the attacker's: it
    // buys no fresh window.
    for i in 0..3 {
        let own = app.quick_user(&format!("attacker-{i}")).await;
        let response = login(
            &app,
            &format!("victim-{i}@example.com"),
            Some(&own.access),
            None,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {}",
            i + 1
        );
    }
    let own = app.quick_user("attacker-3").await;
    assert_limited(login(&app, "victim-3@example.com", Some(&own.access), None).await).await;
}

#[tokio::test]
async fn sign_in_attempts_are_counted_per_account_from_any_address() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_login_per_account_per_min = 3;
        c.rate_limits.trusted_proxies = vec!["127.0.0.0/8".parse().expect("cidr")];
    })
    .await;
    let victim = app.register("victim@example.com").await;
    for (i, address) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
        let response = login(&app, "victim@example.com", None, Some(address)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {}",
            i + 1
        );
    }
    // A fourth address, and the account's email in another case: still the same account.
    assert_limited(login(&app, "Victim@Example.com", None, Some("4.4.4.4")).await).await;
    // Even the right password waits out the window (it is not checked at all)...
    let right = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "5.5.5.5")
        .json(&serde_json::json!({"email": victim.email, "password": crate::common::PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_limited(right).await;
    // ...while other accounts from the same addresses are not held up.
    let other = login(&app, "someone-else@example.com", None, Some("4.4.4.4")).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_auth_per_min = 3;
    })
    .await;
    for _ in 0..3 {
        let response = me(&app, None, Some("1.1.1.1")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Claiming to be someone else does not reset the limit.
    assert_limited(me(&app, None, Some("9.9.9.9")).await).await;
    assert_limited(me(&app, None, None).await).await;
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_is_honoured() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_auth_per_min = 3;
        c.rate_limits.trusted_proxies = vec!["127.0.0.0/8".parse().expect("cidr")];
    })
    .await;
    for _ in 0..3 {
        let response = me(&app, None, Some("1.1.1.1")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(me(&app, None, Some("1.1.1.1")).await).await;
    // Another client behind the proxy has its own window...
    assert_eq!(
        me(&app, None, Some("2.2.2.2")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // ...but a client can't escape by prepending addresses: the right-most untrusted
    // hop is the one the proxy saw.
    assert_limited(me(&app, None, Some("2.2.2.2, 1.1.1.1")).await).await;
    assert_limited(me(&app, None, Some("1.1.1.1, 127.0.0.9")).await).await;
}

/// A Redis server of this test's own, so stopping it harms nobody else.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    async fn start(port: Option<u16>) -> PrivateRedis {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port()
        });
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (is it installed?)");
        let redis = PrivateRedis { port, child };
        for _ in 0..100 {
            if urr_kv::reachable(&redis.url()).await {
                return redis;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private redis-server did not start on {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// An app on this server with rate limits on, trusting loopback's `X-Forwarded-For`.
    async fn app(&self, configure: impl FnOnce(&mut HttpConfig)) -> TestApp {
        spawn_app_with_redis(&self.url(), |c| {
            c.rate_limits.enabled = true;
            c.rate_limits.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
            configure(c);
        })
        .await
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the server.
    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal}");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True once the app's Redis answers a PING (within 10 s).
async fn answers_again(app: &TestApp) -> bool {
    for _ in 0..100 {
        if app.kv.ping().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn without_redis_the_limits_fall_back_to_memory_at_double() {
    let mut redis = PrivateRedis::start(None).await;
    let app = redis
        .app(|c| c.rate_limits.rate_limit_auth_per_min = 3)
        .await;
    for _ in 0..3 {
        let response = me(&app, None, Some("1.1.1.1")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(me(&app, None, Some("1.1.1.1")).await).await;

    redis.stop();
    assert!(app.kv.ping().await.is_err(), "Redis is down");
    // Still answering: in memory, at double the limit.
    for i in 0..6 {
        let response = me(&app, None, Some("1.1.1.1")).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "call {}",
            i + 1
        );
    }
    assert_limited(me(&app, None, Some("1.1.1.1")).await).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);

    // Restart Redis; once the connection is back the shared window (3) applies again.
    let port = redis.port;
    drop(redis);
    let _redis = PrivateRedis::start(Some(port)).await;
    assert!(answers_again(&app).await, "the app reconnects to Redis");
    for _ in 0..3 {
        let response = me(&app, None, Some("3.3.3.3")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(me(&app, None, Some("3.3.3.3")).await).await;
}

/// A Redis that stops answering (paused, not gone) holds the limiter's calls up no longer
/// than its deadline, batch or no batch: calls made meanwhile are decided in memory at
/// double the limit, and once Redis answers again its shared window applies again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_holds_calls_up_only_until_the_deadline() {
    let redis = PrivateRedis::start(None).await;
    let app = redis
        .app(|c| c.rate_limits.rate_limit_auth_per_min = 3)
        .await;
    let response = me(&app, None, Some("5.5.5.5")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    redis.signal("-STOP");
    let began = std::time::Instant::now();
    let answers = futures::future::join_all((0..10).map(|_| me(&app, None, Some("6.6.6.6")))).await;
    let took = began.elapsed();
    let through = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    redis.signal("-CONT");
    assert_eq!((through, refused), (6, 4), "in memory at double the limit");
    assert!(took < Duration::from_secs(3), "ten calls took {took:?}");

    assert!(answers_again(&app).await, "Redis answers again");
    // PING's answer comes after whatever queued up on the connection meanwhile: from here
    // Redis decides at once, with the shared window of 3.
    let mut allowed = 0;
    let mut first_refused = None;
    for i in 0..8 {
        let response = me(&app, None, Some("7.7.7.7")).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            first_refused = Some(i);
            break;
        }
        allowed += 1;
    }
    assert_eq!(
        (allowed, first_refused),
        (3, Some(3)),
        "the shared window applies again"
    );
}
