//go:build unix

package server

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// iovMax is Linux's IOV_MAX, the most buffers one writev takes (also what
// net.Buffers sends per writev).
const iovMax = 1024

// useWritev gives c the raw connection of conn, when conn is a socket, and
// the writev callback of tryWrite: a batch of frames, heads and shared
// bodies, goes out in one writev. A socket that is full (EAGAIN) or a writev
// that was interrupted wrote nothing and is no error; writev reports n = -1
// for them, which must not reach the count of what was written.
func (c *wsConn) useWritev(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.rc = rc
	c.writev = func(fd uintptr) bool {
		// Linux refuses more than iovMax buffers with EINVAL; the rest
		// is left, like the rest of a short write, to the caller.
		c.wn, c.werr = unix.Writev(int(fd), c.wbufs[:min(len(c.wbufs), iovMax)])
		if c.werr == unix.EAGAIN || c.werr == unix.EINTR {
			c.wn, c.werr = 0, nil
		}
		return true // do not wait for the socket to be writable
	}
}
