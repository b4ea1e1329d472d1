package e2e

import (
	"bufio"
	xwdbin "encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/isogate/isogate/internal/frameclient"
)

// These tests open real WebKitGTK windows. make test runs them under
// xvfb-run and sets ISOGATE_REQUIRE_DISPLAY, so a missing display fails.
func requireDisplay(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") != "" {
		return
	}
	if os.Getenv("ISOGATE_REQUIRE_DISPLAY") != "" {
		t.Fatal("no DISPLAY and ISOGATE_REQUIRE_DISPLAY is set")
	}
	t.Skip("no DISPLAY (make test runs these under xvfb-run)")
}

// startWindow runs isogate with the display.
func startWindow(t *testing.T, args ...string) *proc {
	t.Helper()
	return startProc(t, os.Environ(), args...)
}

func TestDesktop_DoctorPassesInRealWebKitGTK(t *testing.T) {
	requireDisplay(t)
	out, err := exec.Command(binary, "doctor").CombinedOutput()
	if err != nil {
		t.Fatalf("isogate doctor: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "✓"); n != 6 || strings.Contains(string(out), "✗") {
		t.Fatalf("doctor report (%d ✓):\n%s", n, out)
	}
	t.Logf("\n%s", out)
}

func TestDesktop_DemoWindowRoundTripAttackScreenshotSIGTERM(t *testing.T) {
	requireDisplay(t)
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startWindow(t, "demo", "--decision-log", logPath, "--width", "1100", "--height", "760")
	if strings.Contains(p.stderr.String(), "serving for a browser") {
		t.Fatalf("demo fell back to browser mode with a display:\n%s", p.stderr.String())
	}
	// The page greets on load, and only once that reply is back does it
	// listen; then its attack panel runs. All of it is observed through the
	// product's own decision log.
	var greetSeq, listenSeq float64
	eventually(t, "the demo window's greet, listen and attacks", func() bool {
		b, _ := os.ReadFile(logPath)
		if !strings.Contains(string(b), `"name":"demo.secret","seq"`) {
			return false
		}
		return strings.Contains(string(b), `"kind":"listen","name":"demo.secret"`)
	})
	traversalDenied := false
	for _, d := range readDecisions(t, logPath) {
		res := d["result"].(map[string]any)
		switch {
		case d["name"] == "demo.greet" && res["allow"] == true && greetSeq == 0:
			greetSeq = d["seq"].(float64)
		case d["kind"] == "listen" && d["name"] == "demo.tick" && res["allow"] == true:
			listenSeq = d["seq"].(float64)
		case d["name"] == "demo.notes.read" && res["allow"] == false:
			traversalDenied = strings.Contains(fmt.Sprint(res["reasons"]), "notes folder")
		}
	}
	if greetSeq == 0 || listenSeq <= greetSeq {
		t.Fatalf("no round trip seen: greet at seq %v, listen after its reply at seq %v", greetSeq, listenSeq)
	}
	if !traversalDenied {
		t.Fatal("the window's path traversal attempt was not denied with its reason")
	}

	// The decisions above can be logged before the window has painted:
	// wait for the paint, and fail if the window stays blank.
	n := 0
	eventually(t, "a painted window (not blank) in the screenshot", func() bool {
		n = distinctColors(screenshot(t))
		return n >= 16
	})

	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d", code)
	}
}

// Two windows in one process, each its own WebKitGTK view on one GTK loop:
// each page greets on load, and the decision log shows both labels, the
// window that isogate handed its token to included.
func TestDesktop_TwoWindowsInOneProcessCarryTheirLabels(t *testing.T) {
	requireDisplay(t)
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startWindow(t, "demo", "--decision-log", logPath, "--window", "editor", "--width", "640", "--height", "480")
	if strings.Contains(p.URL, "token=") {
		t.Fatalf("desktop mode printed the launch token: %s", p.URL)
	}
	eventually(t, "demo.greet decided in both windows", func() bool {
		labels := windowsDecided(t, logPath, "demo.greet")
		return labels["main"] && labels["editor"]
	})
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d", code)
	}
}

func TestDesktop_NoDisplayFallsBackToBrowserMode(t *testing.T) {
	cmd := exec.Command(binary, "demo")
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=")
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		t.Fatalf("first stdout line %q, %v", line, err)
	}
	eventually(t, "the fallback notice", func() bool {
		return strings.Contains(stderr.String(), "no display for a window; serving for a browser")
	})
	if code, body := httpGet(t, strings.TrimSpace(line)); code != 200 || !strings.Contains(body, "isogate") {
		t.Fatalf("browser mode does not serve: %d", code)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v (a segfault shows here)\n%s", err, stderr.String())
	}
}

// screenshot grabs the whole X screen with xwd and decodes it.
func screenshot(t *testing.T) image.Image {
	t.Helper()
	out, err := exec.Command("xwd", "-root", "-silent").Output()
	if err != nil {
		t.Fatalf("xwd: %v (make test installs x11-apps)", err)
	}
	img, err := decodeXWD(out)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo-window.png")
	if dir := os.Getenv("ISOGATE_SCREENSHOT_DIR"); dir != "" {
		path = filepath.Join(dir, "demo-window.png")
	}
	f, err := os.Create(path)
	if err == nil {
		png.Encode(f, img)
		f.Close()
		t.Logf("screenshot: %s", path)
	}
	return img
}

// decodeXWD reads a 24/32-bit TrueColor XWD dump (what xwd writes on Xvfb).
func decodeXWD(b []byte) (image.Image, error) {
	if len(b) < 100 {
		return nil, fmt.Errorf("xwd: short file")
	}
	h := func(i int) uint32 { return xwdbin.BigEndian.Uint32(b[4*i:]) }
	headerSize, w, ht, byteOrder, bpp, bpl, ncolors := h(0), int(h(4)), int(h(5)), h(7), h(11), int(h(12)), int(h(19))
	rmask, gmask, bmask := h(14), h(15), h(16)
	if bpp != 24 && bpp != 32 {
		return nil, fmt.Errorf("xwd: %d bits per pixel, want 24 or 32", bpp)
	}
	n := int(bpp / 8)
	off := int(headerSize) + 12*ncolors
	if off+ht*bpl > len(b) {
		return nil, fmt.Errorf("xwd: truncated")
	}
	shift := func(m uint32) uint {
		s := uint(0)
		for m != 0 && m&1 == 0 {
			m >>= 1
			s++
		}
		return s
	}
	rs, gs, bs := shift(rmask), shift(gmask), shift(bmask)
	img := image.NewRGBA(image.Rect(0, 0, w, ht))
	for y := 0; y < ht; y++ {
		row := b[off+y*bpl:]
		for x := 0; x < w; x++ {
			var px uint32
			for i := 0; i < n; i++ {
				c := uint32(row[n*x+i])
				if byteOrder == 0 { // least significant byte first
					px |= c << (8 * i)
				} else {
					px = px<<8 | c
				}
			}
			img.Set(x, y, color.RGBA{uint8((px & rmask) >> rs), uint8((px & gmask) >> gs), uint8((px & bmask) >> bs), 255})
		}
	}
	return img, nil
}

func distinctColors(img image.Image) int {
	seen := map[color.Color]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			seen[img.At(x, y)] = true
		}
	}
	return len(seen)
}

// httpGet fetches url as one browser profile would: the launch cookie from
// a launch URL is kept for the next requests.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	code, body, err := frameclient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}
