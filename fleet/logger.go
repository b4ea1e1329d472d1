package fleet

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/open-policy-agent/opa/v1/logging"
)

// opaLogger is OPA's logging.Logger on isogate's slog logger, so that the
// plugins' lines (a bundle activated, a download that failed, a signature
// refused) go where isogate's own go, as "opa" lines with their fields.
type opaLogger struct {
	log   *slog.Logger
	level logging.Level
}

func newOPALogger(log *slog.Logger) *opaLogger {
	return &opaLogger{log: log.With("from", "opa"), level: logging.Info}
}

func (l *opaLogger) emit(at slog.Level, lvl logging.Level, f string, a []any) {
	if lvl <= l.level {
		l.log.Log(context.Background(), at, fmt.Sprintf(f, a...))
	}
}

func (l *opaLogger) Debug(f string, a ...any) { l.emit(slog.LevelDebug, logging.Debug, f, a) }
func (l *opaLogger) Info(f string, a ...any)  { l.emit(slog.LevelInfo, logging.Info, f, a) }
func (l *opaLogger) Warn(f string, a ...any)  { l.emit(slog.LevelWarn, logging.Warn, f, a) }
func (l *opaLogger) Error(f string, a ...any) { l.emit(slog.LevelError, logging.Error, f, a) }

func (l *opaLogger) WithFields(fields map[string]any) logging.Logger {
	args := make([]any, 0, 2*len(fields))
	for k, v := range fields {
		args = append(args, k, v)
	}
	return &opaLogger{log: l.log.With(args...), level: l.level}
}

func (l *opaLogger) GetLevel() logging.Level   { return l.level }
func (l *opaLogger) SetLevel(lv logging.Level) { l.level = lv }
