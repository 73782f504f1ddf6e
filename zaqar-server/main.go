// Command zaqar-server serves the OpenStack Zaqar v2 messaging API.
//
//	zaqar-server                               # embedded store in ./data, 127.0.0.1:8888 (REST) and :9000 (WebSocket), no auth
//	zaqar-server --config-file /etc/zaqar/zaqar.conf
//	zaqar-server --bind 0.0.0.0                # both APIs on every address
//	zaqar-server --print-sample-config         # every option, at its default (etc/zaqar.conf.sample)
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --pprof-addr
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/zaqar-go/suite/internal/version"
	"github.com/zaqar-go/suite/zaqar-server/internal/app"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var cfgFiles files
	flag.Var(&cfgFiles, "config-file", "zaqar.conf-style file; may be repeated, later files win")
	bind := flag.String("bind", "", "REST API address, overriding [drivers:transport:wsgi] bind; also the WebSocket API's, unless\n[drivers:transport:websocket] bind or --ws-bind sets that")
	port := flag.Int("port", -1, "override [drivers:transport:wsgi] port (0 picks a free port)")
	wsBind := flag.String("ws-bind", "", "WebSocket API address, overriding [drivers:transport:websocket] bind and --bind")
	wsPort := flag.Int("ws-port", -1, "override [drivers:transport:websocket] port (0 picks a free port)")
	printSample := flag.Bool("print-sample-config", false, "print the sample configuration (every option zaqar-server implements, at its default) and exit")
	pprofAddr := flag.String("pprof-addr", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060); off when empty")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.String("zaqar-server"))
		return
	}

	if *printSample {
		if err := config.WriteSample(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "zaqar-server:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := config.Load(cfgFiles...)
	if err == nil {
		err = cfg.SetListeners(config.ListenerFlags{Bind: *bind, Port: *port, WSBind: *wsBind, WSPort: *wsPort})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zaqar-server:", err)
		os.Exit(2)
	}
	logger, err := openLog(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zaqar-server:", err)
		os.Exit(2)
	}
	defer logger.Close()
	log := logger.Logger
	if len(cfg.Ignored) > 0 {
		log.Warn("configuration options that Zaqar or its libraries define have no effect in zaqar-server",
			"ignored", strings.Join(cfg.Ignored, " "), "files", strings.Join(cfg.Files, " "))
	}

	if *pprofAddr != "" {
		// pprof registers on http.DefaultServeMux, which nothing else serves.
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "zaqar-server: --pprof-addr:", err)
			os.Exit(2)
		}
		// Sampled, so cheap: contention and blocking show up in
		// /debug/pprof/mutex and /debug/pprof/block.
		runtime.SetMutexProfileFraction(100)
		runtime.SetBlockProfileRate(int(100 * time.Microsecond))
		log.Info("pprof listening", "addr", ln.Addr().String())
		go http.Serve(ln, nil)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reopenOnHangup(ctx, logger)
	if err := app.Run(ctx, cfg, log, nil); err != nil {
		log.Error("zaqar-server failed", "err", err)
		logger.Close()
		os.Exit(1)
	}
}
