//! Bot defence at Tier 1 (`docs/architecture.md#bot-defence-at-tier-1`), over HTTP through
//! the real router: the proof of work (required, verified, bound to its room and user,
//! used once), the join limits (429 with `Retry-After`), and the CAPTCHA hook against a
//! stand-in verifier served by the test. The store parts run on Redis and on DynamoDB.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};
use support::{Harness, Kind};
use urr_vwr::captcha::CaptchaVerifier;
use urr_vwr::domain::defence::limit_window;
use urr_vwr::domain::proof::solve;
use urr_vwr::{BotDefence, RoomDefaults, VwrStore};

fn code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or("")
}

/// Calls the room as `user` with `body`, optionally naming a forwarded address.
async fn assign(
    h: &Harness,
    event: &str,
    user: &str,
    body: Value,
    forwarded: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = h
        .http
        .post(h.url(&format!("/vwr/assign/{event}")))
        .bearer_auth(h.access(user))
        .json(&body);
    if let Some(ip) = forwarded {
        request = request.header("x-forwarded-for", ip);
    }
    let response = request.send().await.expect("assign call");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, response.json().await.expect("JSON reply"), retry)
}

async fn challenge(h: &Harness, event: &str, user: &str) -> (u16, Value) {
    let response = h
        .http
        .get(h.url(&format!("/vwr/challenge/{event}")))
        .bearer_auth(h.access(user))
        .send()
        .await
        .expect("challenge call");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON reply"))
}

/// A challenge for `user`, solved: the join body.
async fn solved(h: &Harness, event: &str, user: &str) -> Value {
    let (status, reply) = challenge(h, event, user).await;
    assert_eq!(status, 200, "{reply}");
    let text = reply["challenge"].as_str().expect("challenge").to_owned();
    let difficulty = reply["difficulty"].as_u64().expect("difficulty") as u8;
    json!({"challenge": text, "counter": solve(&text, difficulty)})
}

/// Waits out the end of a limit window, so counts made now land in one window.
async fn fresh_window() {
    let (_, left) = limit_window(Utc::now());
    if left < 10 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// A room asking for 8 bits: no proof, an unsolved one, a forged one, another room's or
/// user's, and a replayed one are each refused with their own code; a solved one joins,
/// and asking again answers the same place without a new proof.
async fn proof_of_work_is_required_and_used_once(h: Harness) {
    let event = Harness::event();
    let other = Harness::event();
    for e in [&event, &other] {
        h.admin(e, "open", json!({"powDifficulty": 8})).await;
    }
    let e = event.as_str();
    assert_eq!(h.status(&event).await["powDifficulty"], json!(8));

    let (status, reply, _) = assign(&h, e, "ann", json!({}), None).await;
    assert_eq!(
        (status, code(&reply)),
        (400, "challenge_required"),
        "{reply}"
    );
    let (status, reply, _) = assign(&h, e, "ann", json!({"userId": "ann"}), None).await;
    assert_eq!(
        (status, code(&reply)),
        (400, "challenge_required"),
        "{reply}"
    );

    let body = solved(&h, e, "ann").await;
    let text = body["challenge"].as_str().expect("text").to_owned();
    let counter = body["counter"].as_u64().expect("counter");
    let wrong = (0..)
        .find(|c| !urr_vwr::domain::proof::solves(&text, *c, 8))
        .expect("an unsolving counter");
    let (status, reply, _) = assign(
        &h,
        e,
        "ann",
        json!({"challenge": text, "counter": wrong}),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&reply)),
        (403, "challenge_unsolved"),
        "{reply}"
    );
    let forged = text.replacen(".8.", ".0.", 1);
    let (status, reply, _) = assign(
        &h,
        e,
        "ann",
        json!({"challenge": forged, "counter": 0}),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&reply)),
        (403, "challenge_invalid"),
        "{reply}"
    );
    // Ann's solved challenge is worth nothing to Bob, nor in the other room.
    let (status, reply, _) = assign(&h, e, "bob", body.clone(), None).await;
    assert_eq!(
        (status, code(&reply)),
        (403, "challenge_invalid"),
        "{reply}"
    );
    let (status, reply, _) = assign(&h, other.as_str(), "ann", body.clone(), None).await;
    assert_eq!(
        (status, code(&reply)),
        (403, "challenge_invalid"),
        "{reply}"
    );

    let (status, first, _) = assign(
        &h,
        e,
        "ann",
        json!({"challenge": text, "counter": counter}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    // Her place, again, without solving again.
    let (status, again, _) = assign(&h, e, "ann", json!({}), None).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["requestId"], first["requestId"]);
    assert_eq!(again["position"], first["position"]);

    // The operator raises the difficulty: challenges issued before it are too easy.
    let easy = solved(&h, e, "cat").await;
    h.admin(&event, "open", json!({"powDifficulty": 9})).await;
    let (status, reply, _) = assign(&h, e, "cat", easy, None).await;
    assert_eq!(
        (status, code(&reply)),
        (403, "challenge_invalid"),
        "{reply}"
    );
    let (status, reply) = challenge(&h, e, "cat").await;
    assert_eq!((status, reply["difficulty"].clone()), (200, json!(9)));
    assert!(reply["expiresAt"].is_string(), "{reply}");

    // A used challenge is refused once its place has gone (positions live 1 s here).
    let body = solved(&h, e, "dan").await;
    let (status, reply, _) = assign(&h, e, "dan", body.clone(), None).await;
    assert_eq!(status, 200, "{reply}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, reply, _) = assign(&h, e, "dan", body, None).await;
    assert_eq!((status, code(&reply)), (409, "challenge_used"), "{reply}");
    let (status, reply, _) = assign(&h, e, "dan", solved(&h, e, "dan").await, None).await;
    assert_eq!(status, 200, "a fresh solve joins again: {reply}");

    // Signed out, or a room that is off: no challenge.
    let response = h
        .http
        .get(h.url(&format!("/vwr/challenge/{e}")))
        .send()
        .await
        .expect("call");
    assert_eq!(response.status(), 401);
    let (status, reply) = challenge(&h, Harness::event().as_str(), "ann").await;
    assert_eq!((status, code(&reply)), (404, "vwr_inactive"), "{reply}");
    let (status, reply) = challenge(&h, "abc", "ann").await;
    assert_eq!(status, 400, "{reply}");
}

/// Past the per-account and per-address limits a join is refused with 429 and
/// `Retry-After`; forwarded addresses count apart only from a trusted proxy.
async fn join_limits_answer_429(h: Harness) {
    let event = Harness::event();
    let e = event.as_str();
    h.admin(
        &event,
        "open",
        json!({"joinsPerAccountPerMin": 3, "joinsPerAddressPerMin": 5}),
    )
    .await;
    fresh_window().await;
    for _ in 0..3 {
        let (status, reply, _) = assign(&h, e, "eve", json!({}), Some("198.51.100.1")).await;
        assert_eq!(status, 200, "{reply}");
    }
    let (status, reply, retry) = assign(&h, e, "eve", json!({}), Some("198.51.100.1")).await;
    assert_eq!((status, code(&reply)), (429, "too_many_joins"), "{reply}");
    let retry: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // 198.51.100.1 has made 4 attempts; one more is allowed, the sixth is not.
    let (status, reply, _) = assign(&h, e, "fay", json!({}), Some("198.51.100.1")).await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply, _) = assign(&h, e, "gus", json!({}), Some("198.51.100.1")).await;
    assert_eq!((status, code(&reply)), (429, "too_many_joins"), "{reply}");
    // Another address behind the same (trusted) proxy has its own count.
    let (status, reply, _) = assign(&h, e, "gus", json!({}), Some("198.51.100.2")).await;
    assert_eq!(status, 200, "{reply}");
    // Limits are per room.
    let free = Harness::event();
    h.admin(&free, "open", json!({})).await;
    let (status, reply, _) =
        assign(&h, free.as_str(), "eve", json!({}), Some("198.51.100.1")).await;
    assert_eq!(status, 200, "{reply}");
}

/// The store's one-use mark and limit counters, directly.
async fn store_marks_once_and_counts(h: Harness) {
    let event = Harness::event();
    let store = h.room.store();
    let until = Utc::now() + chrono::Duration::seconds(60);
    assert!(
        store
            .use_once(&event, "nonce-a", until)
            .await
            .expect("mark")
    );
    assert!(
        !store
            .use_once(&event, "nonce-a", until)
            .await
            .expect("mark")
    );
    assert!(
        store
            .use_once(&event, "nonce-b", until)
            .await
            .expect("mark")
    );
    assert!(
        store
            .use_once(&Harness::event(), "nonce-a", until)
            .await
            .expect("mark"),
        "marks are per room"
    );
    let window = 1_800_000_000;
    for expected in 1..=3 {
        assert_eq!(
            store.hit(&event, "acct:u", window).await.expect("hit"),
            expected
        );
    }
    assert_eq!(store.hit(&event, "addr:::1", window).await.expect("hit"), 1);
    assert_eq!(
        store.hit(&event, "acct:u", window + 60).await.expect("hit"),
        1
    );
}

fn trusting_loopback() -> BotDefence {
    BotDefence {
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("cidr")],
        ..BotDefence::default()
    }
}

fn short_lived() -> RoomDefaults {
    RoomDefaults {
        position_ttl: Duration::from_secs(1),
        ..RoomDefaults::default()
    }
}

macro_rules! both_stores {
    ($($name:ident($defaults:expr, $defence:expr)),* $(,)?) => {
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let h = super::Harness::defended(super::Kind::Redis, $defaults, $defence).await;
                    super::$name(h).await;
                }
            )*
        }
        mod on_dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let h = super::Harness::defended(super::Kind::Dynamo, $defaults, $defence).await;
                    super::$name(h).await;
                }
            )*
        }
    };
}

both_stores!(
    proof_of_work_is_required_and_used_once(crate::short_lived(), urr_vwr::BotDefence::default()),
    join_limits_answer_429(urr_vwr::RoomDefaults::default(), crate::trusting_loopback()),
    store_marks_once_and_counts(
        urr_vwr::RoomDefaults::default(),
        urr_vwr::BotDefence::default()
    ),
);

/// A stand-in for a Turnstile-style verifier: `pass` succeeds with the right secret,
/// anything else fails; `/broken` answers 500. It records each form it was sent.
/// One verification request's form fields.
type Fields = Vec<(String, String)>;

#[derive(Clone, Default)]
struct StandIn {
    seen: Arc<Mutex<Vec<Fields>>>,
}

async fn stand_in() -> (SocketAddr, StandIn) {
    let state = StandIn::default();
    async fn verify(State(state): State<StandIn>, Form(form): Form<Fields>) -> Json<Value> {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let ok = get("secret").as_deref() == Some("stand-in-secret")
            && get("response").as_deref() == Some("pass");
        state.seen.lock().expect("seen").push(form);
        if ok {
            Json(json!({"success": true, "hostname": "127.0.0.1"}))
        } else {
            Json(json!({"success": false, "error-codes": ["invalid-input-response"]}))
        }
    }
    async fn broken() -> (axum::http::StatusCode, &'static str) {
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down")
    }
    let app = Router::new()
        .route("/siteverify", post(verify))
        .route("/broken", post(broken))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the stand-in");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (addr, state)
}

fn verifier(url: String) -> BotDefence {
    BotDefence {
        captcha: Some(
            CaptchaVerifier::new(url, "stand-in-secret".into(), Duration::from_secs(2))
                .expect("client"),
        ),
        captcha_site_key: Some("site-key-1".into()),
        trusted_proxies: Vec::new(),
    }
}

/// The CAPTCHA hook against the stand-in: required, passed, failed; with the proof of
/// work; and refused (fail closed) when the verifier is down or unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn captcha_hook_passes_fails_and_fails_closed() {
    let (addr, seen) = stand_in().await;
    let h = Harness::defended(
        Kind::Redis,
        RoomDefaults::default(),
        verifier(format!("http://{addr}/siteverify")),
    )
    .await;
    let event = Harness::event();
    let e = event.as_str();
    h.admin(&event, "open", json!({"captcha": true})).await;
    assert_eq!(h.status(&event).await["captcha"], json!(true));
    let (status, reply) = challenge(&h, e, "ann").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["captcha"], json!(true));
    assert_eq!(reply["captchaSiteKey"], json!("site-key-1"));
    assert_eq!(reply["difficulty"], json!(0));

    let (status, reply, _) = assign(&h, e, "ann", json!({}), None).await;
    assert_eq!((status, code(&reply)), (400, "captcha_required"), "{reply}");
    let (status, reply, _) = assign(&h, e, "ann", json!({"captchaToken": "fail"}), None).await;
    assert_eq!((status, code(&reply)), (403, "captcha_failed"), "{reply}");
    let (status, reply, _) = assign(&h, e, "ann", json!({"captchaToken": "pass"}), None).await;
    assert_eq!(status, 200, "{reply}");
    {
        let forms = seen.seen.lock().expect("seen");
        let last = forms.last().expect("a verification");
        let get = |k: &str| last.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("secret"), Some("stand-in-secret"));
        assert_eq!(get("response"), Some("pass"));
        assert_eq!(get("remoteip"), Some("127.0.0.1"));
    }

    // Proof of work and CAPTCHA together: both are needed.
    let both = Harness::event();
    h.admin(&both, "open", json!({"captcha": true, "powDifficulty": 6}))
        .await;
    let mut body = solved(&h, both.as_str(), "bob").await;
    let (status, reply, _) = assign(&h, both.as_str(), "bob", body.clone(), None).await;
    assert_eq!((status, code(&reply)), (400, "captcha_required"), "{reply}");
    // The failed attempt used the challenge up: a CAPTCHA retry needs a new solve.
    body["captchaToken"] = json!("pass");
    let (status, reply, _) = assign(&h, both.as_str(), "bob", body, None).await;
    assert_eq!((status, code(&reply)), (409, "challenge_used"), "{reply}");
    let mut body = solved(&h, both.as_str(), "bob").await;
    body["captchaToken"] = json!("pass");
    let (status, reply, _) = assign(&h, both.as_str(), "bob", body, None).await;
    assert_eq!(status, 200, "{reply}");

    // The verifier answers 500, or nothing listens: refused, 503, never let through.
    for url in [
        format!("http://{addr}/broken"),
        "http://127.0.0.1:9/siteverify".to_owned(),
    ] {
        let down = Harness::defended(Kind::Redis, RoomDefaults::default(), verifier(url)).await;
        let event = Harness::event();
        down.admin(&event, "open", json!({"captcha": true})).await;
        let (status, reply, _) = assign(
            &down,
            event.as_str(),
            "cy",
            json!({"captchaToken": "pass"}),
            None,
        )
        .await;
        assert_eq!(
            (status, code(&reply)),
            (503, "captcha_unavailable"),
            "{reply}"
        );
    }

    // A node without a verifier refuses rooms that ask for a CAPTCHA.
    let bare = Harness::start(Kind::Redis).await;
    let (status, reply) = bare
        .admin_raw(&Harness::event(), "open", json!({"captcha": true}))
        .await;
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = bare
        .admin_raw(&Harness::event(), "open", json!({"powDifficulty": 29}))
        .await;
    assert_eq!(status, 400, "{reply}");
}
