// Command ferretdb-local runs FerretDB 1.24 (MongoDB wire protocol, SQLite storage) embedded in a
// tiny program, for development machines without Docker.
//
// The upstream `ferretdb` command built with `go install` panics at start-up because its generated
// build/version files are absent from the module archive; the embeddable `ferretdb` package does
// not need them.
//
// Usage:
//
//	ferretdb-local -listen-addr 127.0.0.1:27017 -sqlite-dir /path/to/data
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "data", "directory holding the SQLite databases")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "invalid -log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	if err := run(logger, *listenAddr, *sqliteDir); err != nil {
		logger.Error("ferretdb-local failed", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger, listenAddr, sqliteDir string) error {
	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return err
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// SQLite URI naming a directory: it must end with a slash.
	sqliteURL := (&url.URL{Scheme: "file", Opaque: (&url.URL{Path: dir + "/"}).EscapedPath()}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Info("ferretdb-local starting", "listen_addr", listenAddr, "sqlite_url", sqliteURL)

	if err = f.Run(ctx); err != nil {
		return err
	}

	logger.Info("ferretdb-local stopped")

	return nil
}
