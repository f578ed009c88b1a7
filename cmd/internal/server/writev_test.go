//go:build unix

package server

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTryWriteFullSocket: once a client stops reading and the socket is
// full, a write takes nothing and is not an error: writev's EAGAIN comes
// with n = -1, which must not be taken for a count.
func TestTryWriteFullSocket(t *testing.T) {
	srv, _ := tcpPair(t) // the client never reads
	c := newWSConn(srv)
	require.NotNil(t, c.rc, "a TCP connection has a raw connection")

	chunk := make([]byte, 1<<16)
	for i := 0; ; i++ {
		require.Less(t, i, 10_000, "the socket never filled")
		rest, err := c.tryWrite(net.Buffers{chunk})
		require.NoError(t, err)
		if len(rest) > 0 {
			break // the socket took less than the chunk: it is full
		}
	}
	rest, err := c.tryWrite(net.Buffers{[]byte("x")})
	require.NoError(t, err)
	require.Equal(t, net.Buffers{[]byte("x")}, rest)
}
