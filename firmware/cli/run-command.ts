import { execFile } from 'node:child_process';
import { LogRing } from '../log/log-ring.ts';
import { createLogger, LogLevel, stdoutSink, type Logger } from '../log/logger.ts';
import { defaultRuntimeDir, installEmbeddedDriver, isSingleExecutable } from '../sea/sea-runtime.ts';
import { selectBoard } from '../board/select.ts';
import { Service, type ServiceOptions } from '../service.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import type { ManagementAddress } from '../web/web-subsystem.ts';
import { attachUpgrades, prepareUpgrades } from '../upgrade/upgrade-boot.ts';
import { stringFlag, type ParsedArgs } from './args.ts';
import { keepYoungGenerationSmall } from './young-generation.ts';

function parseManagement(text: string | undefined): ManagementAddress | undefined {
  if (text === undefined) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new PosternError(ErrorCode.usage, `--management wants HOST:PORT, got '${text}'`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** `--upgrade-trial-seconds N`: how long a new version has to become healthy (default 300). */
function trialSeconds(text: string | undefined): { trialSeconds?: number } {
  if (text === undefined) return {};
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 10) throw new PosternError(ErrorCode.usage, `--upgrade-trial-seconds wants a number of seconds (10 or more), got '${text}'`);
  return { trialSeconds: n };
}

function parseLevel(text: string | undefined): keyof typeof LogLevel {
  const level = text ?? 'info';
  if (!(level in LogLevel)) throw new PosternError(ErrorCode.usage, `unknown log level '${level}'`);
  return level as keyof typeof LogLevel;
}

/** The firmware (the single executable, as root) reboots the box; any other run restarts the service. */
const rebootsTheBox = (): boolean => isSingleExecutable() && process.getuid?.() === 0;

function rebootBox(logger: Logger): void {
  execFile('reboot', [], { timeout: 10_000 }, (error) => {
    if (error) logger.error('reboot failed', { error: error.message });
  });
}

/** `postern run`: start, then stop cleanly on SIGINT/SIGTERM; a second signal forces the exit. */
export async function runCommand(args: ParsedArgs): Promise<undefined> {
  keepYoungGenerationSmall();
  const logs = new LogRing();
  const logger = createLogger({ level: parseLevel(stringFlag(args, 'log-level') ?? process.env['POSTERN_LOG_LEVEL']), sink: logs.tee(stdoutSink) });
  const management = parseManagement(stringFlag(args, 'management'));
  const only = stringFlag(args, 'only')?.split(',').filter(Boolean);
  const stateDir = stringFlag(args, 'state') ?? 'var';
  const runtimeDir = stringFlag(args, 'runtime-dir') ?? defaultRuntimeDir(stateDir);
  // The board profile (issue 18): --board NAME|FILE or POSTERN_BOARD, else the image's own, else generic-<arch>.
  const board = selectBoard(stringFlag(args, 'board') ?? process.env['POSTERN_BOARD']);
  if (isSingleExecutable()) {
    const driver = installEmbeddedDriver(runtimeDir);
    logger.info('driver loaded', { path: driver });
  }
  const options: ServiceOptions = {
    stateDir,
    logger,
    logs,
    ...(management ? { management } : {}),
    ...(only ? { only } : {}),
    board,
    keepOnFactoryReset: [runtimeDir],
    reboot: () => {
      const action = rebootsTheBox() ? 'reboot' : 'restart';
      // After the API's answer has gone out.
      setTimeout(() => void (action === 'reboot' ? rebootBox(logger) : restart()), 300).unref();
      return { action };
    },
  };
  // Upgrades (issue 18): after a rolled-back trial, the pre-upgrade configuration comes back first.
  const upgradeOptions = { stateDir, logger: logger.child('upgrade'), board: board.board, ...trialSeconds(stringFlag(args, 'upgrade-trial-seconds')) };
  const upgrades = await prepareUpgrades(upgradeOptions);
  let service = await Service.start(options);
  // The management address as first bound: a factory reset stops the service before this restart runs.
  let lastBound = service.web.address();
  const upgradeHooks = attachUpgrades(upgrades, {
    subsystems: () => service.supervisor.status(), attach: (hooks) => (service.api.upgrades = hooks),
    event: (type, details) => service.telemetry.event(type, details), stop: () => service.stop(),
  }, upgradeOptions);
  let restarting = false;
  /** Not on the firmware: the service stops and starts again in this process, on the same management port. */
  const restart = async (): Promise<void> => {
    if (restarting) return;
    restarting = true;
    const bound = service.web.address() ?? lastBound;
    try {
      await service.stop();
      // `--management HOST:0` picked a port at start: keep that one, so the page finds the service again.
      service = await Service.start({ ...options, ...(management ? { management: { host: management.host, port: management.port === 0 && bound ? bound.port : management.port } } : {}) });
      lastBound = service.web.address() ?? lastBound;
      service.api.upgrades = upgradeHooks;
    } catch (error) {
      logger.error('restart failed', { error });
      process.exit(1);
    } finally {
      restarting = false;
    }
  };
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('signal received', { signal });
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('unclean stop', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return undefined;
}
