/**
 * The sync helper: the gateway's agents and sessions in one snapshot, as a dashboard shows
 * them. Each session goes under the agent it belongs to (its `agentId`, or the agent named in
 * a session key `agent:<id>:…`); sessions of no listed agent stay in `unassigned`.
 */

export interface SyncAgent {
  id: string;
  [key: string]: unknown;
  sessions: SyncSession[];
}

export interface SyncSession {
  key?: string;
  agentId?: string;
  [key: string]: unknown;
}

export interface SyncSnapshot {
  /** The default agent's id (agents.list `defaultId`). */
  defaultId: string | undefined;
  agents: SyncAgent[];
  /** Sessions whose agent is not in the list. */
  unassigned: SyncSession[];
  /** sessions.list `totalCount` (or the number listed). */
  totalSessions: number;
  /** Whether sessions.list said more pages exist (`hasMore`). */
  moreSessions: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The agent a session belongs to, if it says. */
export function sessionAgentId(session: SyncSession): string | undefined {
  if (typeof session.agentId === 'string') return session.agentId;
  const match = typeof session.key === 'string' ? /^agent:([^:]+):/.exec(session.key) : null;
  return match?.[1];
}

/** Merges the payloads of agents.list and sessions.list. */
export function mergeAgentsAndSessions(agentsPayload: unknown, sessionsPayload: unknown): SyncSnapshot {
  const a = isObject(agentsPayload) ? agentsPayload : {};
  const s = isObject(sessionsPayload) ? sessionsPayload : {};
  const agents: SyncAgent[] = (Array.isArray(a.agents) ? a.agents : [])
    .filter((x): x is Record<string, unknown> => isObject(x) && typeof x.id === 'string')
    .map((x) => ({ ...x, id: x.id as string, sessions: [] }));
  const byId = new Map(agents.map((agent) => [agent.id, agent]));
  const unassigned: SyncSession[] = [];
  const sessions = (Array.isArray(s.sessions) ? s.sessions : []).filter(isObject) as SyncSession[];
  for (const session of sessions) {
    const owner = byId.get(sessionAgentId(session) ?? '');
    if (owner) owner.sessions.push(session);
    else unassigned.push(session);
  }
  return {
    defaultId: typeof a.defaultId === 'string' ? a.defaultId : undefined,
    agents,
    unassigned,
    totalSessions: typeof s.totalCount === 'number' ? s.totalCount : sessions.length,
    moreSessions: s.hasMore === true,
  };
}
