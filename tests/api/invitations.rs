//! Invitations (`docs/architecture.md#invitations`): operators mint, list, count and revoke
//! signed single-use links; whoever opens one joins the event's Tier-2 queue at its
//! priority, past the Tier-1 room; every use and refusal is in the audit log.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::invitations::{
    InvitationAudit, InvitationList, InvitationView, MintedInvitations, RedeemedInvitation,
};
use urr_wire::status::{InvitationAction, InvitationStatus, QueueStatus};
use uuid::Uuid;

use crate::common::{Session, TestApp, assert_error, set_cookie, spawn_app};

async fn mint(app: &TestApp, admin: &Session, event: Uuid, body: Value) -> Vec<InvitationView> {
    let response = app
        .post_as(
            &format!("/api/v1/admin/events/{event}/invitations"),
            &body,
            admin,
        )
        .await;
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, StatusCode::CREATED, "mint: {text}");
    let minted: MintedInvitations = serde_json::from_str(&text).expect("minted json");
    minted.invitations
}

async fn one(app: &TestApp, admin: &Session, event: Uuid, priority: i64) -> InvitationView {
    let body = json!({"label": "Press: Jane Doe", "priority": priority, "expiresInHours": 24});
    mint(app, admin, event, body)
        .await
        .pop()
        .expect("one invitation")
}

async fn list(app: &TestApp, admin: &Session, event: Uuid) -> InvitationList {
    let response = app
        .get_as(&format!("/api/v1/admin/events/{event}/invitations"), admin)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("list json")
}

async fn audit(app: &TestApp, admin: &Session, event: Uuid) -> InvitationAudit {
    let response = app
        .get_as(
            &format!("/api/v1/admin/events/{event}/invitations/audit"),
            admin,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("audit json")
}

async fn redeem(app: &TestApp, user: &Session, token: &str) -> reqwest::Response {
    app.post_as("/api/v1/invitations/redeem", &json!({"token": token}), user)
        .await
}

fn token(invitation: &InvitationView) -> &str {
    invitation
        .token
        .as_deref()
        .expect("an active link has its token")
}

/// An on-sale seated event whose queue admits one person at a time, so everyone after
/// the first waits.
async fn busy_event(app: &TestApp, admin: &Session) -> Uuid {
    let (event, _) = app.seated_event(admin, 2, 5).await;
    app.queue_settings(admin, event, json!({"threshold": 1, "batch": 1}))
        .await;
    event
}

#[tokio::test]
async fn operators_mint_list_and_count_invitations() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 5).await;
    let minted = mint(
        &app,
        &admin,
        event,
        json!({"label": "  VIP: Lee  ", "priority": 7, "count": 3, "expiresInHours": 48}),
    )
    .await;
    assert_eq!(minted.len(), 3);
    for invitation in &minted {
        assert_eq!(invitation.label, "VIP: Lee", "the label is trimmed");
        assert_eq!(invitation.priority, 7);
        assert_eq!(invitation.status, InvitationStatus::Active);
        let hours = (invitation.expires_at - invitation.created_at).num_minutes();
        assert!((48 * 60 - 1..=48 * 60 + 1).contains(&hours), "{hours} min");
        let link = invitation.link.as_deref().expect("link");
        assert!(
            link.ends_with(&format!("/invite#{}", token(invitation))),
            "{link}"
        );
    }
    let ids: std::collections::HashSet<Uuid> = minted.iter().map(|i| i.id).collect();
    assert_eq!(ids.len(), 3, "three distinct links");

    let listed = list(&app, &admin, event).await;
    assert_eq!(listed.counts.minted, 3);
    assert_eq!(listed.counts.active, 3);
    assert_eq!(listed.invitations.len(), 3);
    // The list shows the same link again: it is signed from the row, not stored.
    for invitation in &listed.invitations {
        let same = minted
            .iter()
            .find(|m| m.id == invitation.id)
            .expect("listed");
        assert_eq!(invitation.token, same.token);
    }
    let log = audit(&app, &admin, event).await;
    assert_eq!(log.entries.len(), 3);
    assert!(
        log.entries
            .iter()
            .all(|e| e.action == InvitationAction::Minted
                && e.actor_id == Some(admin.user_id)
                && e.detail == "priority 7")
    );
    // Another event's list is its own.
    let (other, _) = app.seated_event(&admin, 1, 5).await;
    assert_eq!(list(&app, &admin, other).await.counts.minted, 0);
}

#[tokio::test]
async fn an_invitation_puts_its_holder_ahead_of_everyone_waiting() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = busy_event(&app, &admin).await;
    let mut waiting = Vec::new();
    for i in 0..4 {
        let user = app.quick_user(&format!("fan{i}")).await;
        app.queue_check(event, &user).await;
        waiting.push(user);
    }
    assert_eq!(app.queue_status(event, &waiting[1]).await.position, Some(1));
    assert_eq!(app.queue_status(event, &waiting[3]).await.position, Some(3));

    let invitation = one(&app, &admin, event, 0).await;
    let guest = app.quick_user("guest").await;
    let response = redeem(&app, &guest, token(&invitation)).await;
    let tier1_cookie = set_cookie(&response, "urr-vwr-token");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "redeem: {text}");
    let redeemed: RedeemedInvitation = serde_json::from_str(&text).expect("redeem json");
    assert_eq!(redeemed.event_id, event);
    assert_eq!(redeemed.invitation_id, invitation.id);
    assert_eq!(redeemed.queue.status, QueueStatus::Queued);
    assert_eq!(redeemed.queue.position, Some(1), "priority 0 is the head");
    assert!(
        tier1_cookie.is_some_and(|c| c.contains(&redeemed.tier1_token)),
        "the Tier-1 token is set as the room's cookie"
    );
    let claims = app
        .keys()
        .verify_queue(
            &redeemed.tier1_token,
            urr_auth::Tier::One,
            &event.to_string(),
            &guest.user_id.to_string(),
        )
        .expect("a Tier-1 token for the guest and event");
    assert_eq!(claims.pos, Some(0));
    // Everyone who was waiting moved one back, and the guest keeps the head.
    assert_eq!(app.queue_status(event, &waiting[1]).await.position, Some(2));
    assert_eq!(app.queue_status(event, &guest).await.position, Some(1));

    let listed = list(&app, &admin, event).await;
    let row = &listed.invitations[0];
    assert_eq!(row.status, InvitationStatus::Redeemed);
    assert_eq!(row.redeemed_by, Some(guest.user_id));
    assert_eq!(row.redeemed_by_email.as_deref(), Some(guest.email.as_str()));
    assert!(
        row.token.is_none() && row.link.is_none(),
        "a used link is not shown"
    );
    assert_eq!((listed.counts.redeemed, listed.counts.active), (1, 0));

    // The same link again, by someone else: refused, audited with who tried.
    let latecomer = app.quick_user("late").await;
    let again = redeem(&app, &latecomer, token(&invitation)).await;
    assert_error(again, StatusCode::CONFLICT, "invitation_used").await;
    assert_eq!(
        app.queue_status(event, &latecomer).await.status,
        QueueStatus::Absent,
        "a refused link queues nobody"
    );
    let log = audit(&app, &admin, event).await;
    let actions: Vec<(InvitationAction, Option<Uuid>)> =
        log.entries.iter().map(|e| (e.action, e.actor_id)).collect();
    assert_eq!(
        actions,
        vec![
            (InvitationAction::Refused, Some(latecomer.user_id)),
            (InvitationAction::Redeemed, Some(guest.user_id)),
            (InvitationAction::Minted, Some(admin.user_id)),
        ]
    );
    assert_eq!(log.entries[0].detail, "already used");

    // Someone already in the line is refused before a second link is spent on them.
    let second = one(&app, &admin, event, 0).await;
    let queued = redeem(&app, &waiting[2], token(&second)).await;
    assert_error(queued, StatusCode::CONFLICT, "already_queued").await;
    let listed = list(&app, &admin, event).await;
    assert_eq!(listed.counts.active, 1, "the second link is still unused");
    assert_eq!(
        audit(&app, &admin, event).await.entries[0].action,
        InvitationAction::Refused
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_link_presented_at_once_by_two_people_admits_exactly_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = busy_event(&app, &admin).await;
    let links = mint(
        &app,
        &admin,
        event,
        json!({"label": "Guest list", "priority": 3, "count": 5, "expiresInHours": 1}),
    )
    .await;
    for link in &links {
        let a = app.quick_user("racer-a").await;
        let b = app.quick_user("racer-b").await;
        let (ra, rb) = tokio::join!(redeem(&app, &a, token(link)), redeem(&app, &b, token(link)));
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "one wins");
        let winner = if ra.status() == StatusCode::OK {
            &a
        } else {
            &b
        };
        let loser = if ra.status() == StatusCode::OK {
            &b
        } else {
            &a
        };
        let loser_body: Value = if ra.status() == StatusCode::OK {
            rb.json().await
        } else {
            ra.json().await
        }
        .expect("error json");
        assert_eq!(loser_body["error"]["code"], "invitation_used");
        assert_ne!(
            app.queue_status(event, winner).await.status,
            QueueStatus::Absent,
            "the winner has a place"
        );
        assert_eq!(
            app.queue_status(event, loser).await.status,
            QueueStatus::Absent
        );
    }
    let listed = list(&app, &admin, event).await;
    assert_eq!(listed.counts.redeemed, 5);
    let log = audit(&app, &admin, event).await;
    let count = |action| log.entries.iter().filter(|e| e.action == action).count();
    assert_eq!(count(InvitationAction::Redeemed), 5);
    assert_eq!(count(InvitationAction::Refused), 5);
}

#[tokio::test]
async fn revoked_and_expired_links_are_refused_and_audited() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = busy_event(&app, &admin).await;
    let fan = app.quick_user("fan").await;

    let revoked = one(&app, &admin, event, 1).await;
    let revoke = |id: Uuid| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post_as(
                &format!("/api/v1/admin/invitations/{id}/revoke"),
                &json!({}),
                admin,
            )
            .await
        }
    };
    let response = revoke(revoked.id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: InvitationView = response.json().await.expect("view");
    assert_eq!(view.status, InvitationStatus::Revoked);
    assert!(view.revoked_at.is_some() && view.token.is_none());
    // Revoking twice changes nothing and says the same.
    assert_eq!(revoke(revoked.id).await.status(), StatusCode::OK);
    let refused = redeem(&app, &fan, token(&revoked)).await;
    assert_error(refused, StatusCode::GONE, "invitation_revoked").await;

    let expired = one(&app, &admin, event, 1).await;
    sqlx::query(
        "UPDATE invitations SET created_at = now() - interval '2 hours', \
         expires_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(expired.id)
    .execute(&app.db)
    .await
    .expect("age the invitation");
    let refused = redeem(&app, &fan, token(&expired)).await;
    assert_error(refused, StatusCode::GONE, "invitation_expired").await;
    assert_eq!(
        app.queue_status(event, &fan).await.status,
        QueueStatus::Absent
    );

    // A used link cannot be revoked; an unknown one is not found.
    let used = one(&app, &admin, event, 1).await;
    assert_eq!(
        redeem(&app, &fan, token(&used)).await.status(),
        StatusCode::OK
    );
    assert_error(
        revoke(used.id).await,
        StatusCode::CONFLICT,
        "invitation_used",
    )
    .await;
    assert_error(
        revoke(Uuid::new_v4()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let listed = list(&app, &admin, event).await;
    assert_eq!(
        (
            listed.counts.minted,
            listed.counts.revoked,
            listed.counts.expired,
            listed.counts.redeemed,
            listed.counts.active
        ),
        (3, 1, 1, 1, 0)
    );
    let log = audit(&app, &admin, event).await;
    let details: Vec<(InvitationAction, &str)> = log
        .entries
        .iter()
        .filter(|e| e.action != InvitationAction::Minted)
        .map(|e| (e.action, e.detail.as_str()))
        .collect();
    assert_eq!(
        details,
        vec![
            (InvitationAction::Redeemed, ""),
            (InvitationAction::Refused, "expired"),
            (InvitationAction::Refused, "revoked"),
            (InvitationAction::Revoked, ""),
        ],
        "one revocation line however often it is asked"
    );
}

#[tokio::test]
async fn forged_altered_and_foreign_tokens_are_400() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = busy_event(&app, &admin).await;
    let fan = app.quick_user("fan").await;
    let real = one(&app, &admin, event, 0).await;
    let real_token = token(&real).to_owned();

    let now = chrono::Utc::now();
    let forged = urr_auth::TokenKeys::new(b"not-this-node's-secret-at-all-32b!!")
        .issue_invitation(real.id, event, now, now + chrono::Duration::hours(1))
        .expect("sign");
    // Altering one character of the payload breaks the signature.
    let mut parts: Vec<String> = real_token.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    let altered = parts.join(".");
    let (queue_token, _) = app
        .keys()
        .issue_queue(
            &event.to_string(),
            &fan.user_id.to_string(),
            urr_auth::Tier::One,
            Some(0),
        )
        .expect("sign");
    for bad in [
        "not-a-token",
        "",
        forged.as_str(),
        altered.as_str(),
        fan.access.as_str(),
        queue_token.as_str(),
    ] {
        let response = redeem(&app, &fan, bad).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_invitation").await;
    }
    let missing = app
        .post_as("/api/v1/invitations/redeem", &json!({}), &fan)
        .await;
    assert_error(missing, StatusCode::BAD_REQUEST, "invalid_input").await;
    let anonymous = app
        .post("/api/v1/invitations/redeem", &json!({"token": real_token}))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // None of it touched the real link or queued anyone.
    let listed = list(&app, &admin, event).await;
    assert_eq!(listed.counts.active, 1);
    assert_eq!(
        app.queue_status(event, &fan).await.status,
        QueueStatus::Absent
    );
    assert_eq!(
        audit(&app, &admin, event).await.entries.len(),
        1,
        "minted only"
    );
}

#[tokio::test]
async fn operator_calls_need_an_admin() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 5).await;
    let invitation = one(&app, &admin, event, 0).await;
    let fan = app.quick_user("fan").await;
    let body = json!({"label": "Me", "priority": 0, "expiresInHours": 1});
    let mint_path = format!("/api/v1/admin/events/{event}/invitations");
    let revoke_path = format!("/api/v1/admin/invitations/{}/revoke", invitation.id);
    let audit_path = format!("/api/v1/admin/events/{event}/invitations/audit");

    assert_error(
        app.post_as(&mint_path, &body, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get_as(&mint_path, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post_as(&revoke_path, &json!({}), &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get_as(&audit_path, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(&mint_path, &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        app.get(&audit_path).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    let listed = list(&app, &admin, event).await;
    assert_eq!(
        (listed.counts.minted, listed.counts.active),
        (1, 1),
        "nothing changed"
    );
}

#[tokio::test]
async fn bad_input_is_400_and_mints_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 5).await;
    let path = format!("/api/v1/admin/events/{event}/invitations");
    let good = json!({"label": "Press", "priority": 0, "count": 1, "expiresInHours": 24});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().expect("object").remove(field);
        body
    };
    for (body, names) in [
        (with("label", json!("")), "label"),
        (with("label", json!("   ")), "label"),
        (with("label", json!("x".repeat(201))), "label"),
        (with("label", json!("nul\u{0}")), "label"),
        (with("priority", json!(-1)), "priority"),
        (with("priority", json!(1_000_000_001_i64)), "priority"),
        (with("priority", json!("first")), "expected i64"),
        (with("count", json!(0)), "count"),
        (with("count", json!(501)), "count"),
        (with("expiresInHours", json!(0)), "expiresInHours"),
        (with("expiresInHours", json!(24 * 90 + 1)), "expiresInHours"),
        (without("label"), "label"),
        (without("expiresInHours"), "expiresInHours"),
    ] {
        let response = app.post_as(&path, &body, &admin).await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{body}: {message}");
    }
    let not_json = app
        .client
        .post(app.url(&path))
        .bearer_auth(&admin.access)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("POST");
    assert_error(not_json, StatusCode::BAD_REQUEST, "invalid_json").await;
    let nowhere = app
        .post_as(
            &format!("/api/v1/admin/events/{}/invitations", Uuid::new_v4()),
            &good,
            &admin,
        )
        .await;
    assert_error(nowhere, StatusCode::NOT_FOUND, "not_found").await;

    let written: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM invitations), (SELECT count(*) FROM invitation_audit)",
    )
    .fetch_one(&app.db)
    .await
    .expect("count rows");
    assert_eq!(written, (0, 0), "no row written");
    // The largest mint goes through whole.
    let many = mint(&app, &admin, event, with("count", json!(500))).await;
    assert_eq!(many.len(), 500);
    assert_eq!(list(&app, &admin, event).await.counts.active, 500);
}

#[tokio::test]
async fn a_link_for_an_event_not_on_sale_is_kept_for_later() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 5).await;
    let invitation = one(&app, &admin, event, 0).await;
    let set = |status: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let response = app
                .patch_as(
                    &format!("/api/v1/admin/events/{event}/status"),
                    &json!({"status": status}),
                    admin,
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    set("upcoming").await;
    let fan = app.quick_user("fan").await;
    let early = redeem(&app, &fan, token(&invitation)).await;
    assert_error(early, StatusCode::CONFLICT, "not_on_sale").await;
    assert_eq!(
        list(&app, &admin, event).await.counts.active,
        1,
        "still unused"
    );
    set("on_sale").await;
    let response = redeem(&app, &fan, token(&invitation)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// The point of an invitation: an open Tier-1 room is passed, and the Tier-1 token it
/// hands out lets the queue page's own check through the room afterwards.
#[tokio::test]
async fn an_invitation_passes_an_open_tier1_room() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = busy_event(&app, &admin).await;
    let open = app
        .post_as(
            &format!("/vwr-api/vwr/admin/rooms/{event}/open"),
            &json!({"batch": 1, "intervalSecs": 60}),
            &admin,
        )
        .await;
    assert_eq!(open.status(), StatusCode::OK);
    let fan = app.quick_user("fan").await;
    let refused = app
        .post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), &fan)
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "tier1_token_required").await;

    let invitation = one(&app, &admin, event, 0).await;
    let response = redeem(&app, &fan, token(&invitation)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let redeemed: RedeemedInvitation = response.json().await.expect("json");
    assert_ne!(redeemed.queue.status, QueueStatus::Absent);
    let check = app
        .client
        .post(app.url(&format!("/api/v1/queue/check/{event}")))
        .bearer_auth(&fan.access)
        .header("x-vwr-token", &redeemed.tier1_token)
        .send()
        .await
        .expect("check");
    assert_eq!(check.status(), StatusCode::OK);
    let again: urr_wire::queue::QueueReply = check.json().await.expect("json");
    assert_eq!(again.status, redeemed.queue.status);
    assert_eq!(again.position, redeemed.queue.position, "the same place");
}
