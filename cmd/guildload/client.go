//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// api is a JSON client of guildd's HTTP API.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(addr string, conns int) *api {
	tr := &http.Transport{
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &api{base: "http://" + addr, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends body (raw JSON or a value to encode) and decodes a 200 reply into
// out. It returns the status code; err is for transport and decoding errors.
func (a *api) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %.200s", method, path, err, data)
		}
	}
	if resp.StatusCode != 200 && out != nil {
		if e, ok := out.(*apiError); ok {
			json.Unmarshal(data, e)
		}
	}
	return resp.StatusCode, nil
}

type apiError struct {
	Error string `json:"error"`
}

// must is do that wants a 200.
func (a *api) must(ctx context.Context, method, path string, body any, out any) error {
	code, err := a.do(ctx, method, path, body, out)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("%s %s: HTTP %d", method, path, code)
	}
	return nil
}

type guildInfo struct {
	ID          string `json:"id"`
	MemberCount int    `json:"member_count"`
	OnlineCount int    `json:"online_count"`
	Size        int    `json:"size"`
	Groups      []struct {
		ID    string `json:"id"`
		Count int    `json:"count"`
	} `json:"groups"`
}
