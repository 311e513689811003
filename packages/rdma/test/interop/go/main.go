// A sidecar client written the way the SeaweedFS Go sidecar talks to its RDMA engine, that
// also moves the data: github.com/vmihailenco/msgpack/v5 envelopes in MAP or ARRAY form, u32
// little-endian length prefix; the engine's pid from SO_PEERCRED of the control socket; a
// real one-sided read of the session window with process_vm_readv; CRC32C (Castagnoli) of
// the bytes; CompleteRead with it.
//
// `rdma-sidecar-peer <socket> <map|array> <volume_id> <needle_id> [size]` prints one JSON
// line: {pid, transfer_size, expected_crc, client_crc, complete_success, server_crc, message}.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"
)

type conn struct {
	c     *net.UnixConn
	array bool
}

// encode writes the envelope {type, data} as a map or (Rust compact form) as an array.
func (k *conn) request(variant string, fields []string, values []interface{}) (string, map[string]interface{}, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if k.array {
		if err := enc.Encode([]interface{}{variant, values}); err != nil {
			return "", nil, err
		}
	} else {
		data := map[string]interface{}{}
		for i, f := range fields {
			if values[i] != nil {
				data[f] = values[i]
			}
		}
		if err := enc.Encode(map[string]interface{}{"type": variant, "data": data}); err != nil {
			return "", nil, err
		}
	}
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(buf.Len()))
	if _, err := k.c.Write(append(hdr[:], buf.Bytes()...)); err != nil {
		return "", nil, err
	}
	if _, err := io.ReadFull(k.c, hdr[:]); err != nil {
		return "", nil, err
	}
	body := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(k.c, body); err != nil {
		return "", nil, err
	}
	var env interface{}
	dec := msgpack.NewDecoder(bytes.NewReader(body))
	dec.UseLooseInterfaceDecoding(true)
	if err := dec.Decode(&env); err != nil {
		return "", nil, err
	}
	return fromEnvelope(env)
}

var responseFields = map[string][]string{
	"GetCapabilitiesResponse": {"device_name", "vendor_id", "max_transfer_size", "max_sessions", "active_sessions", "port_gid", "port_lid", "supported_auth", "version", "real_rdma"},
	"StartReadResponse":       {"session_id", "local_addr", "local_key", "transfer_size", "expected_crc", "expires_at_ns"},
	"CompleteReadResponse":    {"success", "server_crc", "message"},
	"Error":                   {"code", "message", "category", "recoverable"},
}

// fromEnvelope reads a reply in either form into its variant and named fields.
func fromEnvelope(env interface{}) (string, map[string]interface{}, error) {
	switch e := env.(type) {
	case map[string]interface{}:
		t, _ := e["type"].(string)
		d, _ := e["data"].(map[string]interface{})
		return t, d, nil
	case []interface{}:
		if len(e) != 2 {
			return "", nil, fmt.Errorf("envelope array of %d", len(e))
		}
		t, _ := e[0].(string)
		arr, _ := e[1].([]interface{})
		out := map[string]interface{}{}
		for i, f := range responseFields[t] {
			if i < len(arr) {
				out[f] = arr[i]
			}
		}
		return t, out, nil
	}
	return "", nil, fmt.Errorf("envelope is %T", env)
}

func u64(v interface{}) uint64 {
	switch n := v.(type) {
	case int64:
		return uint64(n)
	case uint64:
		return n
	}
	return 0
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 5 {
		fail("usage: rdma-sidecar-peer <socket> <map|array> <volume_id> <needle_id> [size]")
	}
	volume, _ := strconv.ParseUint(os.Args[3], 10, 32)
	needle, _ := strconv.ParseUint(os.Args[4], 10, 64)
	var size uint64
	if len(os.Args) > 5 {
		size, _ = strconv.ParseUint(os.Args[5], 10, 64)
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: os.Args[1], Net: "unix"})
	if err != nil {
		fail("dial: %v", err)
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		fail("syscall conn: %v", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		fail("SO_PEERCRED: %v %v", err, credErr)
	}
	k := &conn{c: c, array: os.Args[2] == "array"}

	t, caps, err := k.request("GetCapabilities", []string{"client_id"}, []interface{}{"go-peer"})
	if err != nil || t != "GetCapabilitiesResponse" {
		fail("GetCapabilities: %v %s %v", err, t, caps)
	}
	t, sr, err := k.request("StartRead",
		[]string{"volume_id", "needle_id", "cookie", "offset", "size", "remote_addr", "remote_key", "timeout_secs"},
		[]interface{}{uint32(volume), needle, uint32(0), uint64(0), size, uint64(0), uint32(0), uint64(30)})
	if err != nil || t != "StartReadResponse" {
		fail("StartRead: %v %s %v", err, t, sr)
	}
	n := u64(sr["transfer_size"])
	buf := make([]byte, n)
	addr := u64(sr["local_addr"])
	// The one-sided read: process_vm_readv of the engine's memory, partial reads looped.
	for done := uint64(0); done < n; {
		local := []unix.Iovec{{Base: &buf[done]}}
		local[0].SetLen(int(n - done))
		remote := []unix.RemoteIovec{{Base: uintptr(addr + done), Len: int(n - done)}}
		got, err := unix.ProcessVMReadv(int(cred.Pid), local, remote, 0)
		if err != nil || got <= 0 {
			fail("process_vm_readv: %v", err)
		}
		done += uint64(got)
	}
	crc := crc32.Checksum(buf, crc32.MakeTable(crc32.Castagnoli))
	t, cr, err := k.request("CompleteRead",
		[]string{"session_id", "success", "bytes_transferred", "client_crc", "error_message"},
		[]interface{}{sr["session_id"], true, n, crc, nil})
	if err != nil || t != "CompleteReadResponse" {
		fail("CompleteRead: %v %s %v", err, t, cr)
	}
	out, _ := json.Marshal(map[string]interface{}{
		"pid":              cred.Pid,
		"transfer_size":    n,
		"expected_crc":     u64(sr["expected_crc"]),
		"client_crc":       crc,
		"complete_success": cr["success"],
		"server_crc":       u64(cr["server_crc"]),
		"message":          cr["message"],
		"max_sessions":     u64(caps["max_sessions"]),
	})
	fmt.Println(string(out))
}
