//! `client <socket>`: sends a fixed script of requests in rmp-serde's compact form and prints
//! each reply as one JSON line (64-bit integers as strings).
//! `serve <socket>`: answers Ping and GetCapabilities like the engine, everything else with
//! the engine's UNSUPPORTED_MESSAGE error; prints `listening` once bound.
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
enum Message {
    StartRead(StartRead),
    StartReadResponse(StartReadResponse),
    CompleteRead(CompleteRead),
    CompleteReadResponse(CompleteReadResponse),
    GetCapabilities(GetCapabilities),
    GetCapabilitiesResponse(Capabilities),
    Ping(Ping),
    Pong(Pong),
    Error(ErrorReply),
    Bogus(Ping),
}

#[derive(Debug, Serialize, Deserialize)]
struct StartRead {
    volume_id: u32,
    needle_id: u64,
    cookie: u32,
    offset: u64,
    size: u64,
    remote_addr: u64,
    remote_key: u32,
    timeout_secs: u64,
    auth_token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StartReadResponse {
    session_id: String,
    local_addr: u64,
    local_key: u32,
    transfer_size: u64,
    expected_crc: u32,
    expires_at_ns: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct CompleteRead {
    session_id: String,
    success: bool,
    bytes_transferred: u64,
    client_crc: Option<u32>,
    error_message: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CompleteReadResponse {
    success: bool,
    server_crc: Option<u32>,
    message: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct GetCapabilities {
    client_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Capabilities {
    device_name: String,
    vendor_id: u32,
    max_transfer_size: u64,
    max_sessions: usize,
    active_sessions: usize,
    port_gid: String,
    port_lid: u16,
    supported_auth: Vec<String>,
    version: String,
    real_rdma: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Ping {
    timestamp_ns: u64,
    client_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Pong {
    client_timestamp_ns: u64,
    server_timestamp_ns: u64,
    server_rtt_ns: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ErrorReply {
    code: String,
    message: String,
    category: String,
    recoverable: bool,
}

fn write_frame(stream: &mut UnixStream, body: &[u8]) -> std::io::Result<()> {
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(body);
    stream.write_all(&out)
}

fn read_frame(stream: &mut UnixStream, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    match stream.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let size = u32::from_le_bytes(header) as usize;
    if size > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "frame too large"));
    }
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body)?;
    Ok(Some(body))
}

fn describe(reply: &Message) -> serde_json::Value {
    match reply {
        Message::Pong(p) => json!({"type": "Pong", "data": {
            "client_timestamp_ns": p.client_timestamp_ns.to_string(),
            "server_timestamp_ns": p.server_timestamp_ns.to_string(),
            "server_rtt_ns": p.server_rtt_ns.to_string()}}),
        Message::GetCapabilitiesResponse(c) => json!({"type": "GetCapabilitiesResponse", "data": {
            "device_name": c.device_name, "vendor_id": c.vendor_id,
            "max_transfer_size": c.max_transfer_size.to_string(),
            "max_sessions": c.max_sessions.to_string(), "active_sessions": c.active_sessions.to_string(),
            "port_gid": c.port_gid, "port_lid": c.port_lid, "supported_auth": c.supported_auth,
            "version": c.version, "real_rdma": c.real_rdma}}),
        Message::StartReadResponse(r) => json!({"type": "StartReadResponse", "data": {
            "session_id": r.session_id, "local_addr": r.local_addr.to_string(), "local_key": r.local_key,
            "transfer_size": r.transfer_size.to_string(), "expected_crc": r.expected_crc,
            "expires_at_ns": r.expires_at_ns.to_string()}}),
        Message::CompleteReadResponse(r) => json!({"type": "CompleteReadResponse", "data": {
            "success": r.success, "server_crc": r.server_crc, "message": r.message}}),
        Message::Error(e) => json!({"type": "Error", "data": {
            "code": e.code, "message": e.message, "category": e.category, "recoverable": e.recoverable}}),
        other => json!({"type": "unexpected", "debug": format!("{:?}", other)}),
    }
}

fn client(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut stream = UnixStream::connect(path)?;
    let script = vec![
        Message::Ping(Ping { timestamp_ns: 1_700_000_000_123_456_789, client_id: Some("rust-peer".into()) }),
        Message::Ping(Ping { timestamp_ns: 7, client_id: None }),
        Message::GetCapabilities(GetCapabilities { client_id: None }),
        Message::StartRead(StartRead {
            volume_id: 3,
            needle_id: u64::MAX,
            cookie: u32::MAX,
            offset: 9_007_199_254_740_993,
            size: 4096,
            remote_addr: 18_446_744_073_709_551_600,
            remote_key: 42,
            timeout_secs: 30,
            auth_token: Some("t0k".into()),
        }),
        Message::CompleteRead(CompleteRead {
            session_id: "s-1".into(),
            success: true,
            bytes_transferred: 4096,
            client_crc: Some(0xE306_9283),
            error_message: None,
        }),
        Message::Bogus(Ping { timestamp_ns: 1, client_id: None }),
        Message::Pong(Pong { client_timestamp_ns: 1, server_timestamp_ns: 2, server_rtt_ns: 1 }),
    ];
    for request in &script {
        write_frame(&mut stream, &rmp_serde::to_vec(request)?)?;
        let body = read_frame(&mut stream, 64 * 1024 * 1024)?.ok_or("server closed the connection")?;
        let reply: Message = rmp_serde::from_slice(&body)?;
        println!("{}", describe(&reply));
    }
    Ok(())
}

fn answer(request: Message) -> Message {
    match request {
        Message::Ping(p) => Message::Pong(Pong {
            client_timestamp_ns: p.timestamp_ns,
            server_timestamp_ns: 1_800_000_000_000_000_001,
            server_rtt_ns: 1_800_000_000_000_000_001u64.saturating_sub(p.timestamp_ns),
        }),
        Message::GetCapabilities(_) => Message::GetCapabilitiesResponse(Capabilities {
            device_name: "rust-peer".into(),
            vendor_id: 0x02c9,
            max_transfer_size: 1 << 40,
            max_sessions: 16,
            active_sessions: 0,
            port_gid: "fe80::1".into(),
            port_lid: 7,
            supported_auth: vec!["none".into()],
            version: "0.0.0".into(),
            real_rdma: false,
        }),
        _ => Message::Error(ErrorReply {
            code: "UNSUPPORTED_MESSAGE".into(),
            message: "Unsupported message type".into(),
            category: "request".into(),
            recoverable: true,
        }),
    }
}

fn serve(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let listener = UnixListener::bind(path)?;
    println!("listening");
    std::io::stdout().flush()?;
    for stream in listener.incoming() {
        let mut stream = stream?;
        std::thread::spawn(move || {
            while let Ok(Some(body)) = read_frame(&mut stream, 1024 * 1024) {
                let reply = match rmp_serde::from_slice::<Message>(&body) {
                    Ok(request) => answer(request),
                    Err(_) => return, // the engine drops a connection it cannot decode
                };
                let out = rmp_serde::to_vec(&reply).expect("encode");
                if write_frame(&mut stream, &out).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("client"), Some(path)) => client(path),
        (Some("serve"), Some(path)) => serve(path),
        _ => Err("usage: peer client|serve <socket>".into()),
    };
    if let Err(e) = result {
        eprintln!("{}", e);
        std::process::exit(1);
    }
}
