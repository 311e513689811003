// A sidecar peer written the way the SeaweedFS Go sidecar talks to its Rust engine:
// github.com/vmihailenco/msgpack/v5, structs encoded as MAPS with field names, optional
// fields omitted when empty, u32 little-endian length prefix.
//
// `sidecar-go-peer <socket>` (client): sends a fixed script of requests and prints every reply
// as one JSON line, with 64-bit integers as strings so that nothing is rounded on the way.
// `sidecar-go-peer serve <socket>`: answers Ping and GetCapabilities in map form, anything else
// with the Go sidecar's own three-field error; prints `listening` once bound.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/vmihailenco/msgpack/v5"
)

type envelope struct {
	Type string      `msgpack:"type"`
	Data interface{} `msgpack:"data"`
}

type rawEnvelope struct {
	Type string             `msgpack:"type"`
	Data msgpack.RawMessage `msgpack:"data"`
}

type ping struct {
	TimestampNs uint64  `msgpack:"timestamp_ns"`
	ClientID    *string `msgpack:"client_id,omitempty"`
}

type getCapabilities struct {
	ClientID *string `msgpack:"client_id,omitempty"`
}

type startRead struct {
	VolumeID    uint32  `msgpack:"volume_id"`
	NeedleID    uint64  `msgpack:"needle_id"`
	Cookie      uint32  `msgpack:"cookie"`
	Offset      uint64  `msgpack:"offset"`
	Size        uint64  `msgpack:"size"`
	RemoteAddr  uint64  `msgpack:"remote_addr"`
	RemoteKey   uint32  `msgpack:"remote_key"`
	TimeoutSecs uint64  `msgpack:"timeout_secs"`
	AuthToken   *string `msgpack:"auth_token,omitempty"`
}

type completeRead struct {
	SessionID        string  `msgpack:"session_id"`
	Success          bool    `msgpack:"success"`
	BytesTransferred uint64  `msgpack:"bytes_transferred"`
	ClientCrc        *uint32 `msgpack:"client_crc,omitempty"`
	ErrorMessage     *string `msgpack:"error_message,omitempty"`
}

type pong struct {
	ClientTimestampNs uint64 `msgpack:"client_timestamp_ns" json:"client_timestamp_ns,string"`
	ServerTimestampNs uint64 `msgpack:"server_timestamp_ns" json:"server_timestamp_ns,string"`
	ServerRttNs       uint64 `msgpack:"server_rtt_ns" json:"server_rtt_ns,string"`
}

type capabilities struct {
	DeviceName      string   `msgpack:"device_name" json:"device_name"`
	VendorID        uint32   `msgpack:"vendor_id" json:"vendor_id"`
	MaxTransferSize uint64   `msgpack:"max_transfer_size" json:"max_transfer_size,string"`
	MaxSessions     uint64   `msgpack:"max_sessions" json:"max_sessions,string"`
	ActiveSessions  uint64   `msgpack:"active_sessions" json:"active_sessions,string"`
	PortGid         string   `msgpack:"port_gid" json:"port_gid"`
	PortLid         uint16   `msgpack:"port_lid" json:"port_lid"`
	SupportedAuth   []string `msgpack:"supported_auth" json:"supported_auth"`
	Version         string   `msgpack:"version" json:"version"`
	RealRdma        bool     `msgpack:"real_rdma" json:"real_rdma"`
}

type startReadResponse struct {
	SessionID    string `msgpack:"session_id" json:"session_id"`
	LocalAddr    uint64 `msgpack:"local_addr" json:"local_addr,string"`
	LocalKey     uint32 `msgpack:"local_key" json:"local_key"`
	TransferSize uint64 `msgpack:"transfer_size" json:"transfer_size,string"`
	ExpectedCrc  uint32 `msgpack:"expected_crc" json:"expected_crc"`
	ExpiresAtNs  uint64 `msgpack:"expires_at_ns" json:"expires_at_ns,string"`
}

type completeReadResponse struct {
	Success   bool    `msgpack:"success" json:"success"`
	ServerCrc *uint32 `msgpack:"server_crc,omitempty" json:"server_crc,omitempty"`
	Message   *string `msgpack:"message,omitempty" json:"message,omitempty"`
}

// The engine's error has four fields; the Go sidecar's own struct has three. Reading the map
// form by name, both are understood.
type errorResponse struct {
	Code        string  `msgpack:"code" json:"code"`
	Message     string  `msgpack:"message" json:"message"`
	Category    *string `msgpack:"category,omitempty" json:"category,omitempty"`
	Recoverable *bool   `msgpack:"recoverable,omitempty" json:"recoverable,omitempty"`
	Details     *string `msgpack:"details,omitempty" json:"details,omitempty"`
}

func str(s string) *string { return &s }
func u32(v uint32) *uint32 { return &v }

func writeFrame(conn net.Conn, body []byte) error {
	header := make([]byte, 4)
	binary.LittleEndian.PutUint32(header, uint32(len(body)))
	if _, err := conn.Write(append(header, body...)); err != nil {
		return err
	}
	return nil
}

func readFrame(conn net.Conn) ([]byte, error) {
	header := make([]byte, 4)
	if _, err := io.ReadFull(conn, header); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(header)
	if size > 64*1024*1024 {
		return nil, fmt.Errorf("response of %d bytes is over 64 MiB", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, err
	}
	return body, nil
}

func decodeReply(body []byte) (map[string]interface{}, error) {
	var env rawEnvelope
	if err := msgpack.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	var data interface{}
	switch env.Type {
	case "Pong":
		data = &pong{}
	case "GetCapabilitiesResponse":
		data = &capabilities{}
	case "StartReadResponse":
		data = &startReadResponse{}
	case "CompleteReadResponse":
		data = &completeReadResponse{}
	case "Error":
		data = &errorResponse{}
	default:
		return nil, fmt.Errorf("unexpected reply type %q", env.Type)
	}
	if err := msgpack.Unmarshal(env.Data, data); err != nil {
		return nil, fmt.Errorf("%s: %w", env.Type, err)
	}
	return map[string]interface{}{"type": env.Type, "data": data}, nil
}

// The Go sidecar's own error struct: three fields.
type goError struct {
	Code    string  `msgpack:"code"`
	Message string  `msgpack:"message"`
	Details *string `msgpack:"details,omitempty"`
}

func answer(body []byte) ([]byte, error) {
	var env rawEnvelope
	if err := msgpack.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	switch env.Type {
	case "Ping":
		var p ping
		if err := msgpack.Unmarshal(env.Data, &p); err != nil {
			return nil, err
		}
		server := uint64(1800000000000000001)
		return msgpack.Marshal(&envelope{"Pong", &pong{p.TimestampNs, server, server - p.TimestampNs}})
	case "GetCapabilities":
		return msgpack.Marshal(&envelope{"GetCapabilitiesResponse", &capabilities{
			DeviceName: "go-peer", VendorID: 0x15b3, MaxTransferSize: 1 << 33, MaxSessions: 8,
			PortGid: "fe80::2", PortLid: 3, SupportedAuth: []string{"none", "token"}, Version: "go",
		}})
	default:
		return msgpack.Marshal(&envelope{"Error", &goError{Code: "NOT_SUPPORTED", Message: "go peer: " + env.Type,
			Details: str("ask the engine")}})
	}
}

func serve(path string) {
	listener, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		conn, err := listener.Accept()
		if err != nil {
			return
		}
		go func(conn net.Conn) {
			defer conn.Close()
			for {
				body, err := readFrame(conn)
				if err != nil {
					return
				}
				reply, err := answer(body)
				if err != nil {
					return
				}
				if err := writeFrame(conn, reply); err != nil {
					return
				}
			}
		}(conn)
	}
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "serve" {
		serve(os.Args[2])
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sidecar-go-peer <socket> | sidecar-go-peer serve <socket>")
		os.Exit(2)
	}
	conn, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()

	script := []envelope{
		{"Ping", &ping{TimestampNs: 1700000000123456789, ClientID: str("go-peer")}},
		{"Ping", &ping{TimestampNs: 7}},
		{"GetCapabilities", &getCapabilities{}},
		{"StartRead", &startRead{VolumeID: 3, NeedleID: 18446744073709551615, Cookie: 4294967295,
			Offset: 9007199254740993, Size: 4096, RemoteAddr: 18446744073709551600, RemoteKey: 42,
			TimeoutSecs: 30, AuthToken: str("t0k")}},
		{"CompleteRead", &completeRead{SessionID: "s-1", Success: true, BytesTransferred: 4096,
			ClientCrc: u32(0xE3069283)}},
		{"Bogus", map[string]interface{}{"x": 1}},
		{"Pong", &pong{ClientTimestampNs: 1, ServerTimestampNs: 2, ServerRttNs: 1}},
	}
	out := json.NewEncoder(os.Stdout)
	for _, msg := range script {
		body, err := msgpack.Marshal(&msg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := writeFrame(conn, body); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		reply, err := readFrame(conn)
		if err != nil {
			fmt.Fprintln(os.Stderr, "read:", err)
			os.Exit(1)
		}
		decoded, err := decodeReply(reply)
		if err != nil {
			fmt.Fprintln(os.Stderr, "decode:", err)
			os.Exit(1)
		}
		if err := out.Encode(decoded); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
