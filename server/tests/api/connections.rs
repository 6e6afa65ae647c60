//! Slow and idle clients: connections that send half a request, or nothing, are closed,
//! and however many of them there are, the server keeps answering.

use crate::support::TestApp;
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Reads until the server closes the connection; how long that took, or `None` when it
/// was still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    let mut answer = Vec::new();
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn half_sent_requests_are_closed_after_the_header_read_timeout() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_READ_TIMEOUT", "1s")]).await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(app.address()).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: taskboard\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    for stream in &mut slow {
        let closed = closed_within(stream, Duration::from_secs(10)).await;
        assert!(
            closed.is_some_and(|after| after < Duration::from_secs(5)),
            "a half-sent request was still open: {closed:?}"
        );
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_READ_TIMEOUT", "1s")]).await;
    let mut idle = TcpStream::connect(app.address()).await.unwrap();
    let closed = closed_within(&mut idle, Duration::from_secs(10)).await;
    assert!(closed.is_some_and(|after| after >= Duration::from_millis(900)));
}

#[tokio::test]
async fn idle_connections_past_the_cap_do_not_keep_other_clients_out() {
    let app =
        TestApp::spawn_with(&[("HTTP_HEADER_READ_TIMEOUT", "1s"), ("MAX_CONNECTIONS", "8")]).await;
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(app.address()).await.unwrap());
    }
    let started = Instant::now();
    let health = app
        .client
        .get(app.url("/health"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("answered while 40 idle connections wait");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn past_the_cap_a_new_client_waits_until_a_connection_closes() {
    let app =
        TestApp::spawn_with(&[("HTTP_HEADER_READ_TIMEOUT", "3s"), ("MAX_CONNECTIONS", "2")]).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(app.address()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = app
        .client
        .get(app.url("/health"))
        .timeout(Duration::from_millis(1500))
        .send()
        .await;
    assert!(waiting.is_err(), "answered although both slots were held");
    drop(held);
    let answered = app
        .client
        .get(app.url("/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("answered once the slots were free");
    assert_eq!(answered.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_client_cannot_hold_more_than_its_share_of_connections() {
    let app = TestApp::spawn_with(&[("MAX_CONNECTIONS_PER_CLIENT", "2")]).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(app.address()).await.unwrap());
    }
    let mut third = TcpStream::connect(app.address()).await.unwrap();
    let closed = closed_within(&mut third, Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "a third connection from one address was kept"
    );
    let other_client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap()
        .get(app.url("/health"))
        .send()
        .await
        .expect("another address is served");
    assert_eq!(other_client.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_gets_408() {
    let app = TestApp::spawn_with(&[("HTTP_REQUEST_TIMEOUT", "1s")]).await;
    let user = app.new_user().await;
    let mut stream = TcpStream::connect(app.address()).await.unwrap();
    let head = format!(
        "POST /api/tasks HTTP/1.1\r\nHost: taskboard\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":",
        user.jwt
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered before the test's deadline")
        .unwrap();
    let status_line = String::from_utf8_lossy(&answer[..read]);
    assert!(status_line.starts_with("HTTP/1.1 408"), "{status_line}");
}
