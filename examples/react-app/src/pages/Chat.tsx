import { useState, type FormEvent } from 'react';
import { usePageViewRoute, usePerformanceMonitor } from 'perfwatch/react';
import { postChat, readReply } from '../api';
import { navigate } from '../router';

interface Turn {
  from: 'you' | 'model';
  text: string;
}

/** Busy for `ms` on the main thread: a long task, on purpose. */
function busy(ms: number): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
}

/** A chat with one model: the send button calls the (slow) API through monitorApiCall. */
export function Chat({ model }: { model: string }) {
  usePageViewRoute('/chat/:model');
  const { monitorApiCall, monitorUserInteraction } = usePerformanceMonitor();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const [summary, setSummary] = useState<string>();

  async function send(event: FormEvent) {
    event.preventDefault();
    const message = draft.trim();
    if (!message || sending) return;
    setDraft('');
    setSending(true);
    setTurns((t) => [...t, { from: 'you', text: message }]);
    try {
      const reply = await monitorApiCall('POST /api/chat', () => postChat(model, message)).then(readReply);
      setTurns((t) => [...t, { from: 'model', text: reply.reply }]);
    } catch (error) {
      setTurns((t) => [...t, { from: 'model', text: `(no answer: ${(error as Error).message})` }]);
    } finally {
      setSending(false);
    }
  }

  // A heavy interaction: summarising the history on the main thread blocks it for 150 ms
  // (a long task and a slow INP, on purpose, so that both show in the collector).
  const summarise = () =>
    monitorUserInteraction('summarise-history', () => {
      busy(150);
      setSummary(`${turns.length} messages so far.`);
    });

  return (
    <section aria-labelledby="chat-heading">
      <p>
        <a
          href="/"
          onClick={(event) => {
            event.preventDefault();
            navigate('/');
          }}
        >
          ← All models
        </a>
      </p>
      <h2 id="chat-heading">Chat with {model}</h2>
      <ol data-testid="turns">
        {turns.map((turn, i) => (
          <li key={i} data-from={turn.from}>
            <strong>{turn.from}:</strong> {turn.text}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <input aria-label="Message" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Ask something…" />
        <button type="submit" disabled={sending}>
          {sending ? 'Sending…' : 'Send'}
        </button>
      </form>
      <p>
        <button type="button" onClick={summarise}>
          Summarise history
        </button>{' '}
        {summary && <span data-testid="summary">{summary}</span>}
      </p>
    </section>
  );
}
