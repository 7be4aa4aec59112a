export const HELP = `Postern — VPN gateway firmware

Usage:
  postern run [--state DIR] [--management HOST:PORT] [--log-level LEVEL] [--only web,ikev2]
      Start the gateway. State (configuration, keys, users) lives under DIR (default ./var).
      --management overrides the web UI / API address for this run only (port 0 picks a free one).
      --only starts just these subsystems (development and tests: --only web binds no VPN ports).
  postern config validate FILE
      Check a configuration document; prints every bad field with its path. Exit 1 when invalid.
  postern config show [--state DIR] [--revision N]
      Print the running configuration (secrets redacted).
  postern config history [--state DIR]
      List the stored revisions.
  postern version
      Print version, commit and build time.
  postern --help
      This text.

Log levels: debug, info, warn, error (default info; also POSTERN_LOG_LEVEL).
Exit codes: 0 ok, 1 invalid input or failure, 2 usage error.
`;
