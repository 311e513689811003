//! Interop peer for packages/nng tests.
//!
//! `client <address> <method> <params-json> [count]`: sends `count` requests with the crate's
//! IpcTransport::new_client and prints each response as one JSON line.
//! `server <address> <count>`: listens with IpcTransport::new_server, prints `ready`, answers
//! `count` requests (method `echo` returns its params, `fail` answers an error, anything else
//! returns `{"method": <name>}`), then exits.
use std::io::Write;
use std::time::Duration;

use openclaw_ipc::messages::IpcPayload;
use openclaw_ipc::{IpcMessage, IpcTransport};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("client") => client(&args[2], &args[3], &args[4], args.get(5).map_or(1, |n| n.parse().unwrap())),
        Some("server") => server(&args[2], args[3].parse().unwrap()),
        _ => {
            eprintln!("usage: client <address> <method> <params-json> [count] | server <address> <count>");
            std::process::exit(2);
        }
    }
}

fn client(address: &str, method: &str, params: &str, count: usize) {
    let transport = IpcTransport::new_client(address, Duration::from_secs(10)).expect("dial");
    let params: serde_json::Value = serde_json::from_str(params).expect("params json");
    let mut out = std::io::stdout().lock();
    for _ in 0..count {
        let request = IpcMessage::request(method, params.clone());
        let response = transport.request(&request).expect("request");
        assert_eq!(response.id, request.id, "response id must be the request id");
        writeln!(out, "{}", serde_json::to_string(&response).unwrap()).unwrap();
    }
}

fn server(address: &str, count: usize) {
    let transport = IpcTransport::new_server(address).expect("listen");
    println!("ready");
    std::io::stdout().flush().unwrap();
    for _ in 0..count {
        let message = transport.recv().expect("recv");
        let reply = match &message.payload {
            IpcPayload::Request(req) if req.method == "echo" => IpcMessage::success(&message.id, req.params.clone()),
            IpcPayload::Request(req) if req.method == "fail" => IpcMessage::error(&message.id, "rust says no"),
            IpcPayload::Request(req) => IpcMessage::success(&message.id, serde_json::json!({ "method": req.method })),
            _ => IpcMessage::error(&message.id, "not a request"),
        };
        transport.send(&reply).expect("send");
    }
    // Give nng time to flush the last reply before the socket drops.
    std::thread::sleep(Duration::from_millis(200));
}
