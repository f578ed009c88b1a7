//go:build !unix

package server

import (
	"errors"
	"net"
)

// canWritev is false where writev(2) does not exist: every batch of frames
// goes through net.Buffers.WriteTo on the connection (see writeFrames).
const canWritev = false

func writev(uintptr, net.Buffers) (int, error) { return 0, errors.ErrUnsupported }

func socketFull(error) bool { return false }
