//go:build !unix

package server

import "net"

// useWritev leaves c without a raw connection where writev does not exist:
// every batch of frames goes through net.Buffers.WriteTo on conn (see
// writeFrames).
func (c *wsConn) useWritev(net.Conn) {}
