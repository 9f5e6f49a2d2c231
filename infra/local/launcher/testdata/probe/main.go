// Command probe is the launcher tests' workload: a static binary that reports what it sees inside
// the container (token, env, working directory, user, host files, the teeserver) to the test's
// HTTP server at $REPORT, then exits with $CODE. With $WAIT set it first waits for the test's go.
// With $NEED set it fails (exit 1) unless that file exists, the way a program needing a file
// the image lacks fails.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	dir := os.Getenv("CSPIPE_LAUNCHER_DIR")
	if dir == "" {
		dir = "/run/container_launcher"
	}
	if n := os.Getenv("NEED"); n != "" {
		if _, err := os.Stat(n); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
	}
	r := map[string]any{"env": os.Environ(), "uid": os.Getuid(), "gid": os.Getgid()}
	tok, err := os.ReadFile(dir + "/attestation_verifier_claims_token")
	r["token"], r["token_error"] = string(tok), errText(err)
	r["cwd"], _ = os.Getwd()
	for _, f := range []string{"/etc/hosts", "/etc/resolv.conf", os.Getenv("HOST_ONLY")} {
		if f != "" {
			_, err := os.Stat(f)
			r["stat "+f] = errText(err)
		}
	}
	sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", dir+"/teeserver.sock")
	}}}
	resp, err := sock.Post("http://localhost/v1/token", "application/json",
		bytes.NewReader([]byte(`{"audience":"https://receipts.example","nonces":["0123456789abcdef"],"token_type":"OIDC"}`)))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r["custom"], r["custom_status"] = string(b), resp.StatusCode
	} else {
		r["custom_error"] = err.Error()
	}
	body, _ := json.Marshal(r)
	report := os.Getenv("REPORT") + "/" + os.Getenv("OUT")
	if resp, err := http.Post(report, "application/json", bytes.NewReader(body)); err == nil {
		resp.Body.Close()
	} else {
		fmt.Fprintln(os.Stderr, "probe: report:", err)
	}
	fmt.Println("workload says hello")
	if os.Getenv("WAIT") != "" {
		for {
			resp, err := http.Get(report + "/go")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	code, _ := strconv.Atoi(os.Getenv("CODE"))
	os.Exit(code)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
