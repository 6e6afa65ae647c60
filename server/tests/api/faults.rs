//! Faults: concurrent writers, a killed server, a stopped server, a database that goes away.
//! The crash and shutdown tests run the real `server` binary as a process of its own.

use crate::support::{ServerProcess, TestApp, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{
    collections::HashSet,
    io::{Read, Write},
    net::TcpStream,
    sync::{Arc, Mutex},
    time::Duration,
};

/// Every task of the caller, page by page.
async fn all_task_ids(app: &TestApp, jwt: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    loop {
        let page: Vec<Value> = app
            .get_tasks(jwt, &format!("?limit=500&offset={}", ids.len()))
            .await
            .json()
            .await
            .expect("a task list");
        let done = page.len() < 500;
        ids.extend(page.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        if done {
            return ids;
        }
    }
}

#[tokio::test]
async fn many_clients_creating_and_updating_at_once_all_succeed() {
    let app = Arc::new(TestApp::spawn().await);
    let mut users = Vec::new();
    for _ in 0..4 {
        users.push(app.new_user().await);
    }
    let mut writers = tokio::task::JoinSet::new();
    for user in &users {
        for n in 0..25 {
            let (app, jwt) = (app.clone(), user.jwt.clone());
            writers.spawn(async move {
                let task = app.create_task(&jwt, &format!("task {n}")).await;
                let id = task["id"].as_str().unwrap().to_owned();
                let patched = app
                    .patch_task(
                        &jwt,
                        &id,
                        &json!({"completed": true, "title": format!("done {n}")}),
                    )
                    .await;
                assert_eq!(patched.status(), StatusCode::OK);
            });
        }
    }
    while let Some(finished) = writers.join_next().await {
        finished.expect("every writer succeeds");
    }
    for user in &users {
        let tasks: Vec<Value> = app
            .get_tasks(&user.jwt, "?limit=500")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(tasks.len(), 25);
        assert!(tasks
            .iter()
            .all(|t| t["completed"] == json!(true)
                && t["title"].as_str().unwrap().starts_with("done ")));
    }
}

#[tokio::test]
async fn every_task_answered_201_survives_a_sigkill_in_the_middle_of_a_write_load() {
    let db = TestDatabase::fresh().await;
    // A write load, not the per-user write rate's 429s.
    let unlimited = [("RATE_LIMIT_TASK_WRITES", "1000000/1m")];
    let mut server = ServerProcess::start_with(&db.url, "warn", &unlimited).await;
    let app = Arc::new(server.app());
    let user = app.new_user().await;

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (app, jwt, acknowledged) = (app.clone(), user.jwt.clone(), acknowledged.clone());
        writers.spawn(async move {
            for n in 0.. {
                let Ok(response) = app
                    .client
                    .post(app.url("/api/tasks"))
                    .bearer_auth(&jwt)
                    .json(&json!({ "title": format!("writer {writer} task {n}") }))
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(task) = response.json::<Value>().await else {
                    return;
                };
                let id = task["id"].as_str().unwrap().to_owned();
                acknowledged.lock().unwrap().push(id);
            }
        });
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than 100 writes were answered within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    while writers.join_next().await.is_some() {}

    let restarted = ServerProcess::start(&db.url, "warn").await;
    let stored = all_task_ids(&restarted.app(), &user.jwt).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged tasks were lost",
        lost.len(),
        acknowledged.len()
    );
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_cleanly() {
    let db = TestDatabase::fresh().await;
    let mut server = ServerProcess::start(&db.url, "warn").await;
    let user = server.app().new_user().await;

    // Half a request: headers and the first part of the body.
    let body = json!({ "title": "sent across a shutdown" }).to_string();
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        stream,
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        user.jwt,
        body.len()
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(rest.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(read @ 1..) = stream.read(&mut chunk) {
        answer.extend_from_slice(&chunk[..read]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("sent across a shutdown"));

    assert!(server.exited_cleanly_within(Duration::from_secs(10)).await);
}

/// A TCP relay between the app and PostgreSQL that can be cut and restored, to take the
/// database away without touching the server.
struct Relay {
    port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn to(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (target, flag, open) = (target.to_owned(), up.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                open.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Self {
            port,
            up,
            connections,
        }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response
        .headers()
        .contains_key(reqwest::header::RETRY_AFTER));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "The database is unavailable. Try again in a few seconds."
    );
}

#[tokio::test]
async fn a_database_that_goes_away_gets_503_and_the_server_recovers_when_it_returns() {
    let db = TestDatabase::fresh().await;
    if !db.is_postgres() {
        return a_locked_sqlite_database_gets_503_until_the_lock_is_released().await;
    }
    let (server_part, name) = db.url.rsplit_once('/').unwrap();
    let authority = server_part.rsplit('@').next().unwrap();
    let relay = Relay::to(authority).await;
    let relayed_url = format!(
        "{}127.0.0.1:{}/{name}",
        &server_part[..server_part.len() - authority.len()],
        relay.port
    );
    let app = TestApp::spawn_on(&relayed_url).await;
    let user = app.new_user().await;
    app.create_task(&user.jwt, "before the outage").await;

    relay.cut();
    assert_unavailable(app.get_tasks(&user.jwt, "").await).await;
    assert_unavailable(app.post_task(&user.jwt, &json!({"title": "during"})).await).await;

    relay.restore();
    let tasks: Vec<Value> = app.get_tasks(&user.jwt, "").await.json().await.unwrap();
    assert_eq!(tasks.len(), 1);
    app.create_task(&user.jwt, "after the outage").await;
}

/// SQLite's counterpart of an outage: another process holds the write lock longer than
/// the busy timeout.
async fn a_locked_sqlite_database_gets_503_until_the_lock_is_released() {
    use sqlx::Executor;
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let mut locker = app.direct_connection().await;
    locker.execute("begin exclusive").await.unwrap();

    assert_unavailable(app.post_task(&user.jwt, &json!({"title": "blocked"})).await).await;

    locker.execute("rollback").await.unwrap();
    app.create_task(&user.jwt, "after the lock").await;
}
