export const HELP = `Postern — VPN gateway firmware

Usage:
  postern run [--state DIR] [--management HOST:PORT] [--log-level LEVEL] [--only web,ikev2] [--runtime-dir DIR] [--board NAME|FILE]
              [--upgrade-trial-seconds N]
      Start the gateway. State (configuration, keys, users) lives under DIR (default ./var).
      --board (or POSTERN_BOARD): a generic profile (generic-x64, generic-arm64, generic-armv7) or a
      profile file; default the image's own board, else generic-<arch>, which drives no LEDs or watchdog.
      --runtime-dir (single executable only): where the embedded driver is written and loaded from;
      private, on an exec-mounted filesystem (default /run/postern as root, else STATE/run).
      --management overrides the web UI / API address for this run only (port 0 picks a free one).
      --only starts just these subsystems (development and tests: --only web binds no VPN ports).
      --upgrade-trial-seconds: how long an upgraded version has to become healthy before the
      previous one boots again (default 300). Upgrades need the A/B launcher (postern-launcher).
  postern config validate FILE
      Check a configuration document; prints every bad field with its path. Exit 1 when invalid.
  postern config show [--state DIR] [--revision N]
      Print the running configuration (secrets redacted).
  postern config history [--state DIR]
      List the stored revisions.
  postern fleet COMMAND [options]
      The operator's fleet console over any MQTT 5 broker (docs/fleet.md): keygen, sign, publish,
      reported, list (every box with its state), watch (events), variables, command, enroll-token,
      enroll-serve. The broker password comes from POSTERN_FLEET_PASSWORD, never the command line.
  postern version [--json]   (or postern --version)
      Print version, commit, build time, Node version, architecture and board.
  postern --help
      This text.

Log levels: debug, info, warn, error (default info; also POSTERN_LOG_LEVEL).
Exit codes: 0 ok, 1 invalid input or failure, 2 usage error, 75 boot again (for postern-launcher).
`;
