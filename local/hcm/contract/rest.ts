import { PAGES } from './pages.ts';

/**
 * Oracle's REST framework as the goal resources use it: the root, the media types and the
 * framework-4 error body. Written from Oracle's pages (see pages.ts), never from the client's code:
 * the simulator and the client meet only at HTTP.
 */

/** `/hcmRestApi/resources/11.13.18.05` (every farws page's paths). */
export const REST_ROOT = '/hcmRestApi/resources/11.13.18.05';

export const MEDIA = {
  json: 'application/json',
  item: 'application/vnd.oracle.adf.resourceitem+json',
  collection: 'application/vnd.oracle.adf.resourcecollection+json',
  describe: 'application/vnd.oracle.adf.describe+json',
  batch: 'application/vnd.oracle.adf.batch+json',
  /** Framework 4's error payload: `title`, `status`, `o:errorDetails[].detail`, `o:errorCode`. */
  error: 'application/vnd.oracle.adf.error+json',
} as const;

/** The framework-4 error body (PAGES.frameworkVersion). */
export interface FrameworkError {
  type?: string;
  title: string;
  status: string;
  detail?: string;
  'o:errorCode'?: string;
  'o:errorDetails': Array<{ detail: string; 'o:errorCode'?: string; 'o:errorPath'?: string }>;
}

/** Paging (PAGES.planGoalsGet): 25 by default; the cap is unpublished, 500 is the common ADF cap. */
export const PAGING = { defaultLimit: 25, defaultMaxLimit: 500, page: PAGES.planGoalsGet } as const;

/** One `links` entry of an item or collection. */
export interface Link {
  rel: 'self' | 'canonical' | 'parent' | 'child' | 'lov' | 'enclosure';
  href: string;
  name: string;
  kind: 'item' | 'collection' | 'describe' | 'other';
  properties?: Record<string, string>;
}
