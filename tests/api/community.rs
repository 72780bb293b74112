//! Community posts and comments, and news: CRUD, who may change what, moderation, HTML
//! escaping, input limits and bad ids.

use crate::common::{Session, TestApp, assert_error, spawn_app};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn delete_as(app: &TestApp, path: &str, session: &Session) -> Response {
    app.client
        .delete(app.url(path))
        .bearer_auth(&session.access)
        .send()
        .await
        .expect("DELETE")
}

async fn json_of(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(actual, status, "{body}");
    body
}

async fn artist(app: &TestApp, admin: &Session) -> String {
    app.artist(admin).await.to_string()
}

async fn post(app: &TestApp, fan: &Session, artist: &str, title: &str) -> Value {
    let response = app
        .post_as(
            "/api/v1/community/posts",
            &json!({"artistId": artist, "title": title, "body": "See you there!"}),
            fan,
        )
        .await;
    json_of(response, StatusCode::CREATED).await
}

#[tokio::test]
async fn posts_and_comments_crud_and_only_authors_edit() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let artist = artist(&app, &admin).await;
    let fan = app.quick_user("fan").await;
    let other = app.quick_user("other").await;

    let created = post(&app, &fan, &artist, "First concert").await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["artistId"], artist.as_str());
    assert_eq!(created["author"]["id"], fan.user_id.to_string());
    assert_eq!(created["commentCount"], 0);
    post(&app, &other, &artist, "Second").await;

    // Anyone can read, filtered by artist, newest first, paginated.
    let list = json_of(
        app.get(&format!(
            "/api/v1/community/posts?artistId={artist}&limit=1"
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["totalPages"], 2);
    assert_eq!(list["posts"].as_array().expect("posts").len(), 1);
    assert_eq!(list["posts"][0]["title"], "Second");
    let elsewhere = json_of(
        app.get(&format!(
            "/api/v1/community/posts?artistId={}",
            Uuid::new_v4()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(elsewhere["total"], 0);
    let got = json_of(
        app.get(&format!("/api/v1/community/posts/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["title"], "First concert");

    // Only the author edits; anonymous callers can't write at all.
    let path = format!("/api/v1/community/posts/{id}");
    let edit = json!({"title": "Edited"});
    assert_error(
        app.patch_as(&path, &edit, &other).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.patch_as(&path, &edit, &admin).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let edited = json_of(app.patch_as(&path, &edit, &fan).await, StatusCode::OK).await;
    assert_eq!(edited["title"], "Edited");
    assert_eq!(edited["body"], "See you there!");
    assert_error(
        app.post(
            "/api/v1/community/posts",
            &json!({"artistId": artist, "title": "x", "body": "y"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // Comments: anyone signed in; only the author edits, the author deletes.
    let comments = format!("/api/v1/community/posts/{id}/comments");
    let comment = json_of(
        app.post_as(&comments, &json!({"body": "Me too"}), &other)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let comment_path = format!(
        "/api/v1/community/comments/{}",
        comment["id"].as_str().expect("id")
    );
    assert_error(
        app.post(&comments, &json!({"body": "anon"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        app.patch_as(&comment_path, &json!({"body": "hijack"}), &fan)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let edited = json_of(
        app.patch_as(&comment_path, &json!({"body": "Me three"}), &other)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["body"], "Me three");
    let listed = json_of(app.get(&comments).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["comments"][0]["body"], "Me three");
    let got = json_of(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(got["commentCount"], 1);
    assert_error(
        delete_as(&app, &comment_path, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        delete_as(&app, &comment_path, &other).await.status(),
        StatusCode::NO_CONTENT
    );

    // Others can't delete the post; its author can, and then it is gone.
    assert_error(
        delete_as(&app, &path, &other).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        delete_as(&app, &path, &fan).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        delete_as(&app, &path, &fan).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn admins_moderate_any_post_or_comment() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let artist = artist(&app, &admin).await;
    let fan = app.quick_user("fan").await;
    let id = post(&app, &fan, &artist, "Spam?").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/community/posts/{id}");
    let moderate = format!("/api/v1/admin/community/posts/{id}");

    assert_error(
        app.patch_as(&moderate, &json!({"hidden": true}), &fan)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let hidden = json_of(
        app.patch_as(&moderate, &json!({"hidden": true}), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(hidden["hidden"], true);
    // Hidden: gone for everyone but admins, including its author.
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        app.get_as(&path, &fan).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.get_as(&path, &admin).await.status(), StatusCode::OK);
    let list = json_of(
        app.get(&format!("/api/v1/community/posts?artistId={artist}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["total"], 0);
    json_of(
        app.patch_as(&moderate, &json!({"hidden": false}), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.get(&path).await.status(), StatusCode::OK);

    // Comments too; and an admin may delete anyone's post.
    let comment = json_of(
        app.post_as(&format!("{path}/comments"), &json!({"body": "rude"}), &fan)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let comment_id = comment["id"].as_str().expect("id");
    json_of(
        app.patch_as(
            &format!("/api/v1/admin/community/comments/{comment_id}"),
            &json!({"hidden": true}),
            &admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let listed = json_of(app.get(&format!("{path}/comments")).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 0);
    assert_eq!(
        delete_as(&app, &path, &admin).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn html_is_escaped_on_output_and_stored_as_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let artist = artist(&app, &admin).await;
    let fan = app.quick_user("fan").await;
    let raw = r#"<script>alert("x")</script> & 'y'"#;
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;";
    let created = json_of(
        app.post_as(
            "/api/v1/community/posts",
            &json!({"artistId": artist, "title": raw, "body": raw}),
            &fan,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["title"], escaped);
    assert_eq!(created["body"], escaped);
    let id: Uuid = created["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let stored = urr_store::community::get_post(&app.db, id)
        .await
        .expect("read")
        .expect("post");
    assert_eq!(
        stored.title, raw,
        "stored as written, escaped only on output"
    );
    let comment = json_of(
        app.post_as(
            &format!("/api/v1/community/posts/{id}/comments"),
            &json!({"body": raw}),
            &fan,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(comment["body"], escaped);

    let news = json_of(
        app.post_as("/api/v1/news", &json!({"title": raw, "body": raw}), &admin)
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(news["title"], escaped);
    let list = json_of(app.get("/api/v1/news").await, StatusCode::OK).await;
    assert_eq!(list["news"][0]["body"], escaped);
}

#[tokio::test]
async fn limits_bad_ids_and_unknown_ids() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let artist = artist(&app, &admin).await;
    let fan = app.quick_user("fan").await;
    let posts = "/api/v1/community/posts";
    let long_title = "t".repeat(201);
    let long_body = "b".repeat(10_001);
    for body in [
        json!({"artistId": artist, "title": long_title, "body": "ok"}),
        json!({"artistId": artist, "title": "ok", "body": long_body}),
        json!({"artistId": artist, "title": "   ", "body": "ok"}),
        json!({"artistId": artist, "title": "ok", "body": ""}),
        json!({"title": "no artist or event", "body": "ok"}),
        json!({"artistId": "not-a-uuid", "title": "ok", "body": "ok"}),
    ] {
        assert_error(
            app.post_as(posts, &body, &fan).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    }
    // Exactly at the limits is fine (lengths count characters, not bytes).
    let id = json_of(
        app.post_as(
            posts,
            &json!({"artistId": artist, "title": "가".repeat(200), "body": "b".repeat(10_000)}),
            &fan,
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_error(
        app.patch_as(&format!("{posts}/{id}"), &json!({}), &fan)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        app.post_as(
            &format!("{posts}/{id}/comments"),
            &json!({"body": "c".repeat(2_001)}),
            &fan,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    // Unknown artists or events are refused like everywhere else in the catalog.
    assert_error(
        app.post_as(
            posts,
            &json!({"eventId": Uuid::new_v4(), "title": "ok", "body": "ok"}),
            &fan,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_reference",
    )
    .await;
    // Page sizes are bounded; bad pages are 400.
    let page = json_of(
        app.get(&format!("{posts}?limit=100000")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["limit"], 100);
    assert_error(
        app.get(&format!("{posts}?page=0")).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;

    // Bad ids are 400, unknown ids 404, for posts, comments and news.
    let unknown = Uuid::new_v4();
    for path in [
        "/api/v1/community/posts/nope".to_owned(),
        "/api/v1/community/posts/nope/comments".to_owned(),
        "/api/v1/news/nope".to_owned(),
    ] {
        assert_error(
            app.get(&path).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
    }
    for path in [
        format!("/api/v1/community/posts/{unknown}"),
        format!("/api/v1/community/posts/{unknown}/comments"),
        format!("/api/v1/news/{unknown}"),
    ] {
        assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_error(
        app.post_as(
            &format!("/api/v1/community/posts/{unknown}/comments"),
            &json!({"body": "hi"}),
            &fan,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.patch_as(
            &format!("/api/v1/community/comments/{unknown}"),
            &json!({"body": "hi"}),
            &fan,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        delete_as(&app, &format!("/api/v1/news/{unknown}"), &admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.patch_as(
            &format!("/api/v1/admin/community/posts/{unknown}"),
            &json!({"hidden": true}),
            &admin,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn news_is_published_by_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let fan = app.quick_user("fan").await;
    let body = json!({"title": "Tour announced", "body": "Seoul, Busan, Daegu"});
    assert_error(
        app.post("/api/v1/news", &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        app.post_as("/api/v1/news", &body, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let created = json_of(
        app.post_as("/api/v1/news", &body, &admin).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/api/v1/news/{}", created["id"].as_str().expect("id"));
    json_of(
        app.post_as(
            "/api/v1/news",
            &json!({"title": "Second", "body": "more"}),
            &admin,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let list = json_of(app.get("/api/v1/news?limit=1").await, StatusCode::OK).await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["news"][0]["title"], "Second");
    let got = json_of(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(got["body"], "Seoul, Busan, Daegu");

    let edit = json!({"title": "Tour dates"});
    assert_error(
        app.patch_as(&path, &edit, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let edited = json_of(app.patch_as(&path, &edit, &admin).await, StatusCode::OK).await;
    assert_eq!(edited["title"], "Tour dates");
    assert_error(
        app.post_as(
            "/api/v1/news",
            &json!({"title": "x".repeat(201), "body": "ok"}),
            &admin,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert_error(
        delete_as(&app, &path, &fan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        delete_as(&app, &path, &admin).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
}
