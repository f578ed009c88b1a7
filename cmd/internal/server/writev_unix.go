//go:build unix

package server

import (
	"net"

	"golang.org/x/sys/unix"
)

// canWritev is true where writev(2) exists: the gateway writes a batch of
// frames, heads and shared bodies, with one writev on the socket.
const canWritev = true

func writev(fd uintptr, bufs net.Buffers) (int, error) { return unix.Writev(int(fd), bufs) }

// socketFull reports whether a writev error only means that the socket
// could not take more now.
func socketFull(err error) bool { return err == unix.EAGAIN || err == unix.EINTR }
