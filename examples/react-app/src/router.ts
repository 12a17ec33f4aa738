import { useEffect, useState } from 'react';

/** The routes of the example app: a path pattern and the template perfwatch names the page view by. */
export type Route = { name: 'home'; template: '/' } | { name: 'chat'; template: '/chat/:model'; model: string };

/** The route of `path`. */
export function match(path: string): Route {
  const chat = /^\/chat\/([^/]+)\/?$/.exec(path);
  if (chat) return { name: 'chat', template: '/chat/:model', model: decodeURIComponent(chat[1]!) };
  return { name: 'home', template: '/' };
}

/** Goes to `path` with the history API: a route change, which perfwatch counts as a page view. */
export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** The current route, following pushState navigations and Back/Forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => match(location.pathname));
  useEffect(() => {
    const update = () => setRoute(match(location.pathname));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}
