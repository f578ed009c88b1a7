//go:build unix

package server

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

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
		c.wn, c.werr = unix.Writev(int(fd), c.wbufs)
		if c.werr == unix.EAGAIN || c.werr == unix.EINTR {
			c.wn, c.werr = 0, nil
		}
		return true // do not wait for the socket to be writable
	}
}
