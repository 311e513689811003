module openclaw-ipc/rdma-interop-go

go 1.22

require (
	github.com/vmihailenco/msgpack/v5 v5.4.1
	golang.org/x/sys v0.30.0
)

require github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
