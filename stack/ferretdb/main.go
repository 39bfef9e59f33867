// Command ferretdb runs FerretDB v1 with its embedded SQLite backend for the
// local stack (stack/stack.ts).
//
// Why not build github.com/FerretDB/FerretDB/cmd/ferretdb directly: since Go 1.24
// a binary built from a dependency's main package records that module as its main
// module, and FerretDB's build/version package then panics because the module zip
// has no generated version.txt. The embeddable ferretdb package skips that check,
// and it also disables telemetry by construction.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	listenTLS := flag.String("listen-tls", "", "TCP address of the TLS listener; empty for none")
	tlsCert := flag.String("tls-cert-file", "", "server certificate (PEM) of the TLS listener")
	tlsKey := flag.String("tls-key-file", "", "server key (PEM) of the TLS listener")
	tlsCA := flag.String("tls-ca-file", "", "CA (PEM) that client certificates must be signed by; set, a client certificate is required")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI of the data directory (must end with /)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad --log-level %q: %s\n", *logLevel, err)
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{
			TCP:         *listenAddr,
			TLS:         *listenTLS,
			TLSCertFile: *tlsCert,
			TLSKeyFile:  *tlsKey,
			TLSCAFile:   *tlsCA,
		},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	// SIGTERM from `stack.ts down` closes the listener and the SQLite files cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// Lifecycle lines bypass --log-level so the log file always shows starts and stops.
	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s (TLS: %q), sqlite %s\n", *listenAddr, *listenTLS, *sqliteURL)
	if err := f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped with an error", "error", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "ferretdb: stopped")
}
