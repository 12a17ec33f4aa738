import { useEffect, useState } from 'react';
import { usePageViewRoute, usePerformanceMonitor } from 'perfwatch/react';
import { fetchModels, readModels, type Model } from '../api';
import { navigate } from '../router';

const GALLERY = [1, 2, 3, 4, 5, 6];

/** The model list (an API call timed by perfwatch) and a gallery of large images (LCP, resources). */
export function Home() {
  usePageViewRoute('/');
  const { monitorApiCall } = usePerformanceMonitor();
  const [models, setModels] = useState<Model[]>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    let live = true;
    monitorApiCall('GET /api/models', fetchModels)
      .then(readModels)
      .then(
        (list) => live && setModels(list),
        (error: unknown) => live && setProblem(String((error as Error).message ?? error)),
      );
    return () => {
      live = false;
    };
  }, [monitorApiCall]);
  return (
    <>
      <section aria-labelledby="models-heading">
        <h2 id="models-heading">Models</h2>
        {problem && <p role="alert">Models are unavailable: {problem}</p>}
        {!problem && !models && <p>Loading models…</p>}
        {models && (
          <ul data-testid="models">
            {models.map((m) => (
              <li key={m.id}>
                <a
                  href={`/chat/${encodeURIComponent(m.id)}`}
                  data-model={m.id}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(`/chat/${encodeURIComponent(m.id)}`);
                  }}
                >
                  {m.name}
                </a>{' '}
                <small>({m.provider})</small>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="gallery-heading">
        <h2 id="gallery-heading">Made with AI Hub</h2>
        <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(200px, 1fr))', gap: 8 }}>
          {GALLERY.map((n) => (
            <img key={n} src={`/gallery/${n}.svg`} alt={`Gallery picture ${n}`} width={320} height={200} style={{ width: '100%', height: 'auto' }} />
          ))}
        </div>
      </section>
    </>
  );
}
