import fs from 'node:fs';
import path from 'node:path';
import { isRvcError } from '../errors.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { lockedStage } from '../model/lock.js';
import { flattenValues } from '../model/params.js';
import { isInside } from '../model/paths.js';
import { isTreeOid } from '../model/oid.js';
import { compareStrings } from '../model/values.js';
import { gitHead, gitRun, gitTrackedUnder } from '../scm/git.js';
import { outStatus } from '../repo/out-status.js';
import { trackedOf, workspaceOutputs } from '../repo/outputs.js';
import { loadProjectIfAny, type LoadedProject } from '../repo/project.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { cloudStatusAll } from '../repo/sync.js';
import { statusOf } from '../pipeline/status.js';
import { metricsFiles, pipelineAt, workspaceSource } from '../pipeline/compare.js';

/** The five stars, in order: a star is earned only when it and every star before it hold. */
export const REPORT_STARS = ['code', 'configuration', 'data + artifacts', 'environment', 'evaluation'] as const;

export type CriterionStatus = 'pass' | 'fail' | 'warn';

export interface ReportCriterion {
  /** Stable id (`git.clean`, `data.remote`, …). */
  id: string;
  /** The star it belongs to, 1–5. */
  star: number;
  title: string;
  /** `warn`: reported, but does not cost the star (rvc cannot tell whether it matters). */
  status: CriterionStatus;
  /** The facts checked, in a sentence. */
  evidence: string;
  /** The command that would make a failing (or warned) criterion pass. */
  fix?: string;
}

export interface ChecklistAnswer {
  /** The NeurIPS paper checklist question. */
  item: string;
  answer: 'Yes' | 'No';
  /** The criteria the answer is read from. */
  from: string[];
}

export interface ReportResult {
  /** Stars earned, 0–5. */
  stars: number;
  /** The commit checked (HEAD), when there is one. */
  commit?: string;
  criteria: ReportCriterion[];
  /** What the next star needs: its failing criteria (absent at five stars). */
  next?: { star: number; name: string; missing: ReportCriterion[] };
  neurips: ChecklistAnswer[];
  /** The file written with `output`, absolute. */
  written?: string;
}

export interface ReportOptions extends CommonOptions {
  /** Write the report to this file (relative to cwd), atomically. */
  output?: string;
  /** The form of the written file (default: Markdown). */
  format?: 'md' | 'json';
}

/** `rvc verify`'s record of its last run. */
interface VerifyRecord {
  date?: string;
  rev?: string;
  commit?: string;
  stages?: { stage: string; verdict: string }[];
}

const SEED_RE = /(^|_)(seed|random_state|random_seed|rng)(_|$)|seed$/i;
const REPRODUCED = new Set(['bit-exact', 'within-tolerance']);
/** Files that pin an environment by themselves. */
const LOCK_FILES = ['uv.lock', 'poetry.lock', 'Pipfile.lock', 'package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'conda-lock.yml', 'renv.lock', 'Cargo.lock'];
/** Files that name an environment, pinned only when their lines give exact versions. */
const LISTS = ['environment.yml', 'environment.yaml', 'conda.yaml', 'conda.yml'];
/** Files that name an environment but pin it only with a lock file beside them. */
const MANIFESTS = ['pyproject.toml', 'Pipfile', 'package.json', 'setup.py', 'setup.cfg'];

/**
 * The five-star reproducibility report of the project at its current commit: each criterion
 * read from what rvc records (git, rvc.yaml/rvc.lock, the output index with the hash cache, the
 * default remote, environment files, `rvc verify`'s last result), with its evidence and the
 * command that fixes it. Reads only; with `output` it writes the rendered report.
 */
export async function report(opts: ReportOptions = {}): Promise<ReportResult> {
  const repo = Repo.open(opts.cwd);
  const project = loadProjectIfAny(repo);
  const commit = gitHead(repo.root);
  const file = opts.output !== undefined ? path.resolve(opts.cwd ?? process.cwd(), opts.output) : undefined;
  const criteria: ReportCriterion[] = [
    ...codeCriteria(repo, project, commit, file),
    ...await configCriteria(project),
    ...(await dataCriteria(repo, opts)),
    ...environmentCriteria(repo, project),
    ...evaluationCriteria(repo, project, commit),
  ];
  let stars = 0;
  while (stars < 5 && criteria.every((c) => c.star !== stars + 1 || c.status !== 'fail')) stars++;
  const res: ReportResult = { stars, ...(commit ? { commit } : {}), criteria, neurips: checklist(criteria) };
  if (stars < 5) res.next = { star: stars + 1, name: REPORT_STARS[stars]!, missing: criteria.filter((c) => c.star === stars + 1 && c.status === 'fail') };
  if (file !== undefined) {
    const text = opts.format === 'json' ? `${JSON.stringify(res, null, 2)}\n` : renderReportMarkdown(res);
    writeFileAtomic(file, text);
    res.written = file;
  }
  return res;
}

function criterion(star: number, id: string, title: string, ok: boolean | 'warn', evidence: string, fix: string): ReportCriterion {
  const status: CriterionStatus = ok === 'warn' ? 'warn' : ok ? 'pass' : 'fail';
  return { id, star, title, status, evidence, ...(status !== 'pass' ? { fix } : {}) };
}

/** Of `paths`, those git tracks; none without git (a `--no-scm` project). */
function inGit(repo: Repo, paths: string[]): string[] {
  try {
    return gitTrackedUnder(repo.root, paths);
  } catch (e) {
    if (isRvcError(e) && e.code === 'GIT_FAILED') return [];
    throw e;
  }
}

function sample(list: readonly string[], n = 5): string {
  return list.slice(0, n).map((x) => `\`${x}\``).join(', ') + (list.length > n ? ` and ${list.length - n} more` : '');
}

/** `written`: the report's own file, which is not a change to the project. */
function codeCriteria(repo: Repo, project: LoadedProject | undefined, commit: string | undefined, written: string | undefined): ReportCriterion[] {
  const res: ReportCriterion[] = [];
  res.push(criterion(1, 'git.commit', 'the project is a git commit', !!commit,
    commit ? `HEAD is ${commit.slice(0, 12)}` : 'the git repository has no commit', 'git add -A && git commit -m "<message>"'));
  let dirty: string[] = [];
  if (commit) dirty = gitRun(repo.root, ['status', '--porcelain', '-z', '--untracked-files=normal']).split('\0').filter(Boolean).map((l) => l.slice(3))
      .filter((rel) => written === undefined || path.resolve(repo.root, rel) !== written);
  res.push(criterion(1, 'git.clean', 'the workspace is the commit (no uncommitted change)', !!commit && dirty.length === 0,
    !commit ? 'no commit to compare with' : dirty.length ? `uncommitted: ${sample(dirty)}` : 'git reports no change and no untracked file',
    'git add -A && git commit -m "<message>"'));
  if (project) {
    // A stage's inputs that no stage produces and no pointer records must be in git (code).
    const produced = new Set(project.pipeline.stages.flatMap((s) => [...s.outs, ...s.metrics, ...s.plots].map((o) => o.repoPath)));
    const pointers = repo.allOuts().map((t) => t.rel);
    const deps = [...new Set(project.pipeline.stages.flatMap((s) => s.deps.map((d) => d.repoPath)))]
      .filter((d) => !produced.has(d) && !pointers.some((p) => isInside(d, p)))
      .sort(compareStrings);
    const git = inGit(repo, deps);
    const untracked = deps.filter((d) => !git.some((g) => isInside(g, d)));
    res.push(criterion(1, 'code.deps', 'every stage input is tracked (code in git, data by rvc)', untracked.length === 0,
      untracked.length ? `tracked neither by git nor by rvc: ${sample(untracked)}` : `${deps.length} input(s) in git, the rest produced by stages or recorded by pointers`,
      untracked.length ? `git add ${untracked[0]} (code) or rvc add ${untracked[0]} (data)` : 'git add <path>'));
  }
  return res;
}

async function configCriteria(project: LoadedProject | undefined): Promise<ReportCriterion[]> {
  const res: ReportCriterion[] = [];
  const stages = project?.pipeline.stages ?? [];
  res.push(criterion(2, 'pipeline.defined', 'the pipeline is written down (rvc.yaml)', stages.length > 0,
    stages.length ? `${stages.length} stage(s) in ${project!.pipeline.files.map((f) => `\`${f}\``).join(', ')}` : 'no stage in any rvc.yaml',
    'rvc stage add -n <name> -d <input> -o <output> -p params.yaml:seed <command>'));
  if (!project || !stages.length) return res;
  const st = await statusOf(project, { ids: [] });
  const unrun = stages.filter((s) => !lockedStage(project.lock, s.name)).map((s) => s.name);
  const stale = st.stages.filter((s) => s.state === 'stale' && !unrun.includes(s.name)).map((s) => s.name);
  res.push(criterion(2, 'lock.complete', 'the pipeline ran end to end (rvc.lock complete and up to date)', !unrun.length && !stale.length,
    unrun.length ? `never ran: ${sample(unrun)}` : stale.length ? `stale: ${sample(stale)}` : `every stage of ${stages.length} recorded in rvc.lock and up to date`,
    'rvc repro'));
  const withParams = stages.filter((s) => s.params.length > 0);
  const files = [...new Set(withParams.flatMap((s) => s.params.map((p) => p.repoPath)))].sort(compareStrings);
  const missing = files.filter((f) => !fs.existsSync(path.join(project.repo.root, f)));
  res.push(criterion(2, 'params.files', 'parameters live in params files', withParams.length > 0 && !missing.length,
    !withParams.length ? 'no stage reads parameters from a params file' : missing.length ? `missing params file(s): ${sample(missing)}` : `${withParams.length} stage(s) read ${sample(files)}`,
    'rvc stage add -f -n <stage> -p params.yaml:<keys> <command>'));
  // Seeds: a seed-like parameter a stage reads must have a value; stages reading none are flagged.
  const unset: string[] = [];
  const without: string[] = [];
  for (const s of stages) {
    const found = stageSeeds(lockedStage(project.lock, s.name)?.params ?? {}, s.params);
    for (const u of found.unset) unset.push(`${s.name} (${u})`);
    if (!found.seeds.length) without.push(s.name);
  }
  res.push(criterion(2, 'params.seeds', 'random seeds are set in params', unset.length ? false : without.length ? 'warn' : true,
    unset.length ? `seed without a value: ${sample(unset)}` : without.length ? `stages reading no seed-like parameter (fine if they draw no random numbers): ${sample(without)}` : 'every stage reads a seed-like parameter with a value',
    `rvc stage add -f -n ${(unset[0] ?? without[0] ?? '<stage>').split(' ')[0]} -p params.yaml:seed <command>`));
  return res;
}

/**
 * The seed-like parameters (`seed`, `random_state`, `random_seed`, `rng`, `*_seed`) a stage reads,
 * as `file:key`: those its rvc.lock entry recorded and those its rvc.yaml entry names; `unset`,
 * those recorded without a value.
 */
export function stageSeeds(locked: Record<string, Record<string, unknown>>, declared: readonly { repoPath: string; keys: string[] | null }[]): { seeds: string[]; unset: string[] } {
  const seeds: string[] = [];
  const unset: string[] = [];
  const isSeed = (k: string): boolean => SEED_RE.test(k.split('.').pop()!);
  for (const [file, values] of Object.entries(locked)) {
    for (const [k, v] of Object.entries(flattenValues(values))) {
      if (!isSeed(k)) continue;
      seeds.push(`${file}:${k}`);
      if (v === null || v === undefined || v === '') unset.push(`${file}:${k}`);
    }
  }
  for (const p of declared) for (const k of p.keys ?? []) if (isSeed(k) && !seeds.includes(`${p.repoPath}:${k}`)) seeds.push(`${p.repoPath}:${k}`);
  return { seeds, unset };
}

async function dataCriteria(repo: Repo, opts: ReportOptions): Promise<ReportCriterion[]> {
  const res: ReportCriterion[] = [];
  const outs = (await workspaceOutputs(repo)).filter((o) => o.kind !== 'run');
  const notCached: string[] = [];
  const changed: string[] = [];
  let uncached: string[] = [];
  for (const o of outs) {
    if (o.kind === 'pointer') {
      const s = outStatus(repo, trackedOf(repo, o), opts);
      if (s.workspace !== 'unchanged') changed.push(o.rel);
      if (!s.inCache) notCached.push(o.rel);
      continue;
    }
    if (o.cached === false) {
      uncached.push(o.rel);
      continue;
    }
    const odb = repo.odbFor(o.out.hash);
    let inCache = odb.hasSync(o.out.oid);
    if (inCache && isTreeOid(o.out.oid) && !odb.isMarkedComplete(o.out.oid)) inCache = odb.readTree(o.out.oid).every((e) => odb.hasSync(e.oid));
    if (!inCache) notCached.push(o.rel);
  }
  // An output kept out of the cache is tracked only when git holds it (metrics usually are).
  if (uncached.length) {
    const git = inGit(repo, uncached);
    uncached = uncached.filter((u) => !git.some((g) => isInside(g, u)));
  }
  res.push(criterion(3, 'data.cached', 'every input and intermediate output is tracked and in the cache', !notCached.length && !changed.length && !uncached.length,
    uncached.length ? `\`cache: false\` and not in git: ${sample(uncached)}` : changed.length ? `changed since recorded: ${sample(changed)}` : notCached.length ? `not in the cache: ${sample(notCached)}` : `${outs.length} output(s) recorded and in the cache (or in git)`,
    uncached.length ? `git add ${uncached[0]}` : changed.length ? `rvc commit (or rvc add ${changed[0]})` : notCached.length ? 'rvc pull (or rvc repro)' : 'rvc commit'));
  if (!outs.length) {
    res.push(criterion(3, 'data.remote', 'the data is on the default remote', true, 'no tracked data', 'rvc push'));
    return res;
  }
  const remote = repo.config.core.remote;
  if (!remote) {
    res.push(criterion(3, 'data.remote', 'the data is on the default remote', false, 'no default remote is set', 'rvc remote add -d <name> <url> && rvc push'));
    return res;
  }
  try {
    const c = await cloudStatusAll(repo, { ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    const absent = c.objects.filter((o) => o.state === 'new' || o.state === 'missing').flatMap((o) => o.paths);
    res.push(criterion(3, 'data.remote', 'the data is on the default remote', absent.length === 0,
      absent.length ? `not on remote '${c.remote}': ${sample([...new Set(absent)])}` : `${c.counts['in sync']} object(s) in sync with remote '${c.remote}'`,
      `rvc push -r ${c.remote}`));
  } catch (e) {
    if (!isRvcError(e)) throw e;
    res.push(criterion(3, 'data.remote', 'the data is on the default remote', false, `remote '${remote}' could not be read: ${e.message}`, e.hint ?? `rvc push -r ${remote}`));
  }
  return res;
}

/** Whether a requirements/conda file gives exact versions; the unpinned lines otherwise. */
export function unpinnedLines(name: string, text: string): string[] {
  const bad: string[] = [];
  const conda = !name.endsWith('.txt');
  let inDeps = !conda;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s#.*$/, '').replace(/^#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    if (conda) {
      if (/^\S/.test(line)) inDeps = /^dependencies\s*:/.test(line);
      const m = /^\s*-\s+(.+)$/.exec(line);
      if (!inDeps || !m) continue;
      const dep = m[1]!.trim();
      if (dep.endsWith(':')) continue; // `- pip:` opens a list of pip requirements
      if (!/[=@]/.test(dep) || /[<>~]/.test(dep)) bad.push(dep);
      continue;
    }
    const l = line.trim();
    if (l.startsWith('-') && !l.startsWith('-e')) continue; // options: -r, --index-url, --hash continuation
    if (!/===?/.test(l) && !/--hash=/.test(l) && !/@\s*\S+#sha256=/.test(l)) bad.push(l);
  }
  return bad;
}

function environmentCriteria(repo: Repo, project: LoadedProject | undefined): ReportCriterion[] {
  const res: ReportCriterion[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(repo.root);
  } catch {
    // an unreadable root lists nothing
  }
  const reqs = names.filter((n) => /^requirements.*\.txt$/.test(n)).sort(compareStrings);
  const locks = LOCK_FILES.filter((n) => names.includes(n));
  const lists = [...reqs, ...LISTS.filter((n) => names.includes(n))];
  const manifests = MANIFESTS.filter((n) => names.includes(n));
  const present = [...locks, ...lists, ...manifests];
  res.push(criterion(4, 'env.files', 'environment files are present', present.length > 0,
    present.length ? `found ${sample(present)}` : 'no requirements*.txt, environment.yml, lock file or package manifest at the project root',
    'pip freeze > requirements.txt'));
  const unpinned: string[] = [];
  for (const f of lists) {
    const bad = unpinnedLines(f, fs.readFileSync(path.join(repo.root, f), 'utf8'));
    for (const b of bad) unpinned.push(`${f}: ${b}`);
  }
  const manifestsOnly = !locks.length && !lists.length ? manifests : [];
  const pinned = present.length > 0 && !unpinned.length && !manifestsOnly.length;
  res.push(criterion(4, 'env.pinned', 'the environment is pinned (exact versions)', pinned,
    !present.length ? 'no environment file' : unpinned.length ? `not exact: ${sample(unpinned)}` : manifestsOnly.length ? `${sample(manifestsOnly)} without a lock file` : `exact versions in ${sample([...locks, ...lists])}`,
    unpinned.length ? `pip freeze > ${unpinned[0]!.split(':')[0]}` : manifestsOnly.includes('pyproject.toml') ? 'uv lock' : manifestsOnly.includes('package.json') ? 'npm install --package-lock-only' : 'pip freeze > requirements.txt'));
  if (project && project.pipeline.stages.length) {
    const without = project.pipeline.stages.filter((s) => {
      const e = lockedStage(project.lock, s.name)?.environment;
      return !e || typeof e !== 'object';
    }).map((s) => s.name);
    res.push(criterion(4, 'env.captured', 'the environment is captured for every stage (rvc.lock)', !without.length,
      without.length ? `no environment recorded for: ${sample(without)}` : `recorded for all ${project.pipeline.stages.length} stage(s)`,
      'rvc repro -f'));
  }
  return res;
}

function evaluationCriteria(repo: Repo, project: LoadedProject | undefined, commit: string | undefined): ReportCriterion[] {
  const res: ReportCriterion[] = [];
  const stages = project?.pipeline.stages ?? [];
  // Stage `metrics:` and the top-level `metrics:` of every rvc.yaml (a file a stage writes
  // without declaring it, as DVCLive does), as `rvc metrics show` reads them.
  const metrics = project ? metricsFiles([pipelineAt(workspaceSource(repo))]) : [];
  const present = metrics.filter((m) => fs.existsSync(path.join(repo.root, m)));
  // A top-level metrics file no stage outputs is tracked only when git holds it.
  const produced = new Set(stages.flatMap((s) => [...s.outs, ...s.metrics, ...s.plots].map((o) => o.repoPath)));
  const loose = present.filter((m) => !produced.has(m));
  const git = loose.length ? inGit(repo, loose) : [];
  const untracked = loose.filter((m) => !git.some((g) => isInside(g, m)));
  const missing = metrics.filter((m) => !present.includes(m));
  res.push(criterion(5, 'metrics.tracked', 'metrics are declared, produced and tracked', metrics.length > 0 && !missing.length && !untracked.length,
    !metrics.length ? 'no metrics declared (a stage\'s `metrics:` or the top-level `metrics:` of rvc.yaml)' : missing.length ? `missing: ${sample(missing)}` : untracked.length ? `tracked neither by a stage nor by git: ${sample(untracked)}` : `metrics: ${sample(metrics)}`,
    !metrics.length ? 'rvc stage add -n evaluate -d <model> -M metrics.json <command>' : missing.length ? 'rvc repro' : `git add ${untracked[0] ?? '<metrics file>'}`));
  const file = path.join(repo.tmpDir, 'verify', 'last.json');
  let rec: VerifyRecord | undefined;
  try {
    rec = JSON.parse(fs.readFileSync(file, 'utf8')) as VerifyRecord;
  } catch {
    rec = undefined;
  }
  let ok = false;
  let evidence = 'rvc verify has not run';
  if (rec && typeof rec === 'object') {
    const verdicts = new Map((Array.isArray(rec.stages) ? rec.stages : []).map((s) => [s.stage, s.verdict]));
    const failed = [...verdicts].filter(([, v]) => !REPRODUCED.has(v)).map(([s, v]) => `${s} (${v})`);
    const unverified = stages.map((s) => s.name).filter((n) => !verdicts.has(n));
    const when = `rvc verify of ${String(rec.date ?? 'an unknown date')} at ${String(rec.commit ?? rec.rev ?? '?').slice(0, 12)}`;
    if (commit && rec.commit && rec.commit !== commit) evidence = `${when}: another commit than HEAD`;
    else if (failed.length) evidence = `${when}: not reproduced: ${sample(failed)}`;
    else if (unverified.length) evidence = `${when}: stages not verified: ${sample(unverified)}`;
    else if (!verdicts.size) evidence = `${when}: no stage verified`;
    else {
      ok = true;
      evidence = `${when}: all ${verdicts.size} stage(s) reproduced`;
    }
  }
  res.push(criterion(5, 'verify.reproduced', 'the last rvc verify reproduced every stage', ok, evidence, 'rvc verify'));
  return res;
}

/** The NeurIPS paper checklist questions rvc can answer, each from the criteria that decide it. */
function checklist(criteria: ReportCriterion[]): ChecklistAnswer[] {
  const ok = (ids: string[]): boolean => ids.every((id) => criteria.find((c) => c.id === id)?.status !== 'fail') && ids.some((id) => criteria.some((c) => c.id === id));
  const items: [string, string[]][] = [
    ['Open access to data and code: are the code and data available, with instructions to reproduce the results?', ['git.commit', 'git.clean', 'code.deps', 'pipeline.defined', 'lock.complete', 'data.cached', 'data.remote']],
    ['Experimental setting/details: are all hyperparameters and settings specified?', ['params.files', 'lock.complete']],
    ['Are random seeds fixed and reported?', ['params.seeds']],
    ['Experiments compute resources: is the software and hardware environment specified?', ['env.files', 'env.pinned', 'env.captured']],
    ['Experimental result reproducibility: were the main results reproduced?', ['metrics.tracked', 'verify.reproduced']],
  ];
  return items.map(([item, from]) => ({ item, answer: ok(from) ? 'Yes' : 'No', from }));
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

const MARK: Record<CriterionStatus, string> = { pass: '✅ pass', fail: '❌ fail', warn: '⚠️ warn' };

/** The report as Markdown: stars, the criteria with evidence and fix, the next star, the checklist. */
export function renderReportMarkdown(r: ReportResult): string {
  const lines: string[] = [];
  lines.push('# Reproducibility report', '');
  lines.push(`**${'★'.repeat(r.stars)}${'☆'.repeat(5 - r.stars)} ${r.stars}/5 stars**${r.commit ? ` at commit \`${r.commit.slice(0, 12)}\`` : ''}`, '');
  lines.push(`Stars, in order: ${REPORT_STARS.map((s, i) => `${i + 1} ${s}`).join(', ')}. A star needs every criterion of it and of the stars before it.`, '');
  if (r.next) {
    lines.push(`## Next star: ${r.next.star} (${r.next.name})`, '');
    for (const c of r.next.missing) lines.push(`- ${c.title}: ${c.evidence}. Fix: \`${c.fix}\``);
    lines.push('');
  }
  lines.push('## Criteria', '', '| Star | Criterion | Status | Evidence | Fix |', '|---|---|---|---|---|');
  for (const c of r.criteria) lines.push(`| ${c.star} ${REPORT_STARS[c.star - 1]} | ${cell(c.title)} | ${MARK[c.status]} | ${cell(c.evidence)} | ${c.fix ? `\`${cell(c.fix)}\`` : ''} |`);
  lines.push('', '## NeurIPS checklist (the items rvc can answer)', '', '| Question | Answer | From |', '|---|---|---|');
  for (const a of r.neurips) lines.push(`| ${cell(a.item)} | ${a.answer} | ${a.from.map((f) => `\`${f}\``).join(', ')} |`);
  return `${lines.join('\n')}\n`;
}
