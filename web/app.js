/*
 * oernode's search page: reads GET /api/search and
 * GET /api/resources/ORIGIN/LOCAL and shows them.  Every value from the
 * API goes into the page as text (textContent), never as HTML, so a
 * record cannot add markup or script.  The state (words, filters,
 * offset, open record, the user's education system) lives in the
 * location's hash.
 */
'use strict';

const FACETS = ['level', 'subject', 'language', 'licence', 'type',
                'audience', 'origin'];
const PAGE = 20;

const TEXT = {
  en: {
    tagline: 'Open educational resources',
    searchLabel: 'Search', searchButton: 'Search',
    placeholder: 'Search titles, descriptions and keywords',
    filters: 'Filters', clear: 'Clear filters',
    prev: 'Previous', next: 'Next', back: 'Back to results',
    footer: 'Metadata from this node and its peers.',
    level: 'Level', subject: 'Subject', language: 'Language',
    licence: 'Licence', type: 'Type', audience: 'Audience',
    origin: 'Origin', source: 'Open the resource', noSource: 'no link',
    via: 'Found through', remote: 'held by a peer, not by this node',
    hits: n => n === 1 ? '1 result' : n + ' results',
    atLeast: n => 'at least ' + n + ' results',
    counted: n => 'Counts of the newest ' + n + ' results',
    fromPeers: n => (n === 1 ? '1 result' : n + ' results') + ' from peers',
    page: (p, n) => 'page ' + p + ' of ' + n,
    loading: 'Searching…', none: 'Nothing found.',
    error: m => 'The node answered with an error: ' + m,
    noFacet: 'none', description: 'Description', keywords: 'Keywords',
    languages: 'Languages', levels: 'Levels', subjects: 'Subjects',
    types: 'Types', rights: 'Rights', contributors: 'Contributors',
    updated: 'Updated', created: 'Created', id: 'Id', files: 'Files',
    ages: 'Age range', system: 'Levels in',
    download: n => 'Download ' + n,
    rating: 'Rating', unrated: 'not rated yet', downloads: 'Downloads',
    stars: (avg, n) => avg.toFixed(1) + ' of 5 (' + n +
                       (n === 1 ? ' rating)' : ' ratings)'),
    systemNone: 'each origin\'s terms', systemBeVl: 'Flanders',
    systemNl: 'the Netherlands',
  },
  nl: {
    tagline: 'Open leermiddelen',
    searchLabel: 'Zoeken', searchButton: 'Zoeken',
    placeholder: 'Zoek in titels, beschrijvingen en trefwoorden',
    filters: 'Filters', clear: 'Filters wissen',
    prev: 'Vorige', next: 'Volgende', back: 'Terug naar de resultaten',
    footer: 'Metadata van deze node en zijn peers.',
    level: 'Niveau', subject: 'Vak', language: 'Taal',
    licence: 'Licentie', type: 'Soort', audience: 'Doelgroep',
    origin: 'Herkomst', source: 'Open het leermiddel', noSource: 'geen link',
    via: 'Gevonden via', remote: 'bewaard door een peer, niet door deze node',
    hits: n => n === 1 ? '1 resultaat' : n + ' resultaten',
    atLeast: n => 'minstens ' + n + ' resultaten',
    counted: n => 'Aantallen van de nieuwste ' + n + ' resultaten',
    fromPeers: n => (n === 1 ? '1 resultaat' : n + ' resultaten') +
                    ' van peers',
    page: (p, n) => 'pagina ' + p + ' van ' + n,
    loading: 'Zoeken…', none: 'Niets gevonden.',
    error: m => 'De node gaf een fout: ' + m,
    noFacet: 'geen', description: 'Beschrijving', keywords: 'Trefwoorden',
    languages: 'Talen', levels: 'Niveaus', subjects: 'Vakken',
    types: 'Soorten', rights: 'Rechten', contributors: 'Makers',
    updated: 'Bijgewerkt', created: 'Gemaakt', id: 'Id', files: 'Bestanden',
    ages: 'Leeftijd', system: 'Niveaus in',
    download: n => n + ' downloaden',
    rating: 'Waardering', unrated: 'nog niet gewaardeerd',
    downloads: 'Downloads',
    stars: (avg, n) => avg.toFixed(1).replace('.', ',') + ' van 5 (' + n +
                       (n === 1 ? ' waardering)' : ' waarderingen)'),
    systemNone: 'de termen van elke herkomst', systemBeVl: 'Vlaanderen',
    systemNl: 'Nederland',
  },
};

let ui = 'en';

const $ = id => document.getElementById(id);
const t = (key, ...args) => {
  const v = TEXT[ui][key];
  return typeof v === 'function' ? v(...args) : v;
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/* Only web links become links: no javascript: or data: URLs. */
function safeUrl(u) {
  return typeof u === 'string' && /^(https?|ftp):\/\//i.test(u) ? u : null;
}

function link(text, url) {
  const a = el('a', null, text);
  a.href = url;
  a.rel = 'noopener noreferrer';
  return a;
}

/* The text of a language map in the interface language, else the first. */
function pick(map) {
  if (!map || typeof map !== 'object') return '';
  if (typeof map[ui] === 'string') return map[ui];
  const keys = Object.keys(map);
  return keys.length ? String(map[keys[0]]) : '';
}

function terms(list) {
  if (!Array.isArray(list)) return [];
  return list.map(x => (x && typeof x === 'object')
    ? (x.label ? pick(x.label) : '') || String(x.value || '')
    : String(x)).filter(Boolean);
}

/* A label the API gives as text, or a language map. */
function labelText(v) {
  return typeof v === 'string' ? v : pick(v);
}

/* A hit's level in the searcher's system, the origin's own term beside
 * it: "groep 7 (lager onderwijs, 5e leerjaar)". */
function levelText(x) {
  if (!x || typeof x !== 'object') return String(x);
  const own = labelText(x.label) || String(x.value || '');
  const eq = x.equivalent && typeof x.equivalent === 'object'
    ? labelText(x.equivalent.label) || String(x.equivalent.id || '') : '';
  return eq && eq !== own ? eq + ' (' + own + ')' : own;
}

/* State <-> hash: #q=words&level=a&level=b&offset=20&open=ORIGIN/LOCAL
 * &system=nl */
function readState() {
  const p = new URLSearchParams(location.hash.slice(1));
  const s = { q: p.get('q') || '', offset: Number(p.get('offset')) || 0,
              open: p.get('open'), system: p.get('system') || '',
              filters: {} };
  for (const f of FACETS) s.filters[f] = p.getAll(f);
  return s;
}

function writeState(s) {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  for (const f of FACETS) for (const v of s.filters[f]) p.append(f, v);
  if (s.offset) p.set('offset', String(s.offset));
  if (s.open) p.set('open', s.open);
  if (s.system) p.set('system', s.system);
  const h = '#' + p.toString();
  if (location.hash !== h) location.hash = h; else render();
}

async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const m = body && body.error ? body.error.message : 'HTTP ' + r.status;
    throw new Error(m);
  }
  return body;
}

function resourceUrl(id) {
  const slash = id.indexOf('/');
  return '/api/resources/' + encodeURIComponent(id.slice(0, slash)) + '/' +
    encodeURIComponent(id.slice(slash + 1));
}

/* The record's file of that name, as the node serves it (the bytes
 * with its media type and name, or a redirect to the record's source
 * when this node does not hold them). */
function fileUrl(id, name) {
  return resourceUrl(id) + '/files/' + encodeURIComponent(name);
}

function fileNames(doc) {
  return doc && Array.isArray(doc.files)
    ? doc.files.map(f => f && f.name).filter(n => typeof n === 'string' && n)
    : [];
}

function fileLink(text, id, name) {
  const a = link(text, fileUrl(id, name));
  a.className = 'download';
  a.download = name;
  return a;
}

function licenceNode(id, url) {
  const u = safeUrl(url);
  return u ? link(id, u) : el('span', null, id);
}

function drawFacets(answer, s) {
  const box = $('facet-list');
  box.replaceChildren();
  if (answer.exact === false && answer.counted) {
    box.append(el('p', 'facet-note', t('counted', answer.counted)));
  }
  for (const f of FACETS) {
    const values = (answer.facets && answer.facets[f]) || [];
    const chosen = s.filters[f];
    if (!values.length && !chosen.length) continue;
    const set = el('fieldset', 'facet');
    set.dataset.facet = f;
    set.append(el('legend', null, t(f)));
    const seen = new Set();
    for (const v of values) {
      seen.add(v.value);
      set.append(facetBox(f, v.value, v.label || v.value, v.count,
                          chosen.includes(v.value)));
    }
    for (const v of chosen)
      if (!seen.has(v)) set.append(facetBox(f, v, v, 0, true));
    box.append(set);
  }
}

/* A checkbox for one value of a facet (label: its name in the
 * interface language, when the API gives one). */
function facetBox(facet, value, label, count, on) {
  const row = el('label', 'facet-value');
  const box = el('input');
  box.type = 'checkbox';
  box.checked = on;
  box.value = value;
  box.addEventListener('change', () => {
    const s = readState();
    const list = s.filters[facet].filter(v => v !== value);
    if (box.checked) list.push(value);
    s.filters[facet] = list;
    s.offset = 0;
    writeState(s);
  });
  row.append(box, el('span', 'value', label), el('span', 'count', count));
  row.dataset.value = value;
  row.dataset.count = String(count);
  return row;
}

/* A hit a peer found (federated search): only its id and title came,
 * and this node holds no record to open, so it is shown as text with
 * the peer it came through. */
function drawRemoteHit(hit) {
  const li = el('li', 'hit remote');
  li.dataset.id = hit.id;
  li.append(el('h3', 'title', hit.title || hit.id));
  const meta = el('p', 'meta');
  const add = (key, text) => {
    const span = el('span', key);
    span.append(el('span', 'label', t(key) + ': '), el('span', null, text));
    meta.append(span);
  };
  add('origin', hit.id.split('/')[0]);
  add('via', String(hit.source));
  meta.append(el('span', 'note', t('remote')));
  li.append(meta);
  return li;
}

function drawHit(hit) {
  if (hit.source && hit.source !== 'local') return drawRemoteHit(hit);
  const li = el('li', 'hit');
  li.dataset.id = hit.id;
  const h = el('h3', 'title');
  const open = el('a', null, hit.title || hit.id);
  open.href = '#open=' + encodeURIComponent(hit.id);
  open.addEventListener('click', ev => {
    ev.preventDefault();
    const s = readState();
    s.open = hit.id;
    writeState(s);
  });
  h.append(open);
  const desc = el('p', 'description');
  const meta = el('p', 'meta');
  li.append(h, desc, meta);
  fillMeta(meta, hit, null);
  getJson(resourceUrl(hit.id)).then(doc => {
    desc.textContent = pick(doc.description);
    fillMeta(meta, hit, doc);
  }).catch(() => {});
  return li;
}

function fillMeta(meta, hit, doc) {
  meta.replaceChildren();
  const add = (cls, key, node) => {
    const span = el('span', cls);
    span.append(el('span', 'label', t(key) + ': '), node);
    meta.append(span);
  };
  /* The hit's levels carry labels in the interface language and, with a
   * system chosen, the equivalent term of that system. */
  let levels = Array.isArray(hit.levels) ? hit.levels.map(levelText)
                                         : [];
  if (!levels.length && doc) levels = terms(doc.levels);
  if (levels.length) add('level', 'level', el('span', null, levels.join('; ')));
  add('licence', 'licence', licenceNode(hit.licence,
      hit.licence_url || (doc && doc.licence_url)));
  add('origin', 'origin', el('span', null, hit.id.split('/')[0]));
  /* paradata, counted on this node */
  const r = hit.rating && typeof hit.rating === 'object' ? hit.rating : {};
  const count = Number(r.count) || 0;
  add('rating', 'rating', el('span', null, count > 0
      ? t('stars', Number(r.average) || 0, count) : t('unrated')));
  add('downloads', 'downloads',
      el('span', null, String(Number(hit.downloads) || 0)));
  /* download the first file, or open the resource where it lives */
  const files = fileNames(doc);
  if (files.length) meta.append(fileLink(t('download', files[0]), hit.id,
                                         files[0]));
  const src = doc && safeUrl(doc.source_url);
  if (src) meta.append(link(t('source'), src));
}

async function search(s) {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  for (const f of FACETS) for (const v of s.filters[f]) p.append(f, v);
  p.set('lang', ui);
  if (s.system) p.set('system', s.system);
  p.set('limit', String(PAGE));
  p.set('offset', String(s.offset));
  return getJson('/api/search?' + p.toString());
}

function drawResults(answer, s) {
  /* total counts this node's hits; peers' come on the first page */
  const remote = answer.hits.filter(h => h.source && h.source !== 'local')
    .length;
  const parts = [];
  if (answer.total || !remote) {
    /* past the hits the node counts, there may be more */
    parts.push(!answer.total ? t('none')
      : answer.exact === false ? t('atLeast', answer.total)
        : t('hits', answer.total));
  }
  if (remote) parts.push(t('fromPeers', remote));
  $('status').textContent = parts.join('; ');
  $('status').dataset.total = String(answer.total);
  const list = $('hits');
  list.replaceChildren(...answer.hits.map(drawHit));
  const pages = Math.max(1, Math.ceil(answer.total / PAGE));
  const page = Math.floor(s.offset / PAGE) + 1;
  $('page').textContent = t('page', page, pages);
  $('prev').disabled = s.offset <= 0;
  $('next').disabled = s.offset + PAGE >= answer.total;
  $('pager').hidden = answer.total <= PAGE;
  drawFacets(answer, s);
}

function field(dl, key, value) {
  if (value === null || value === undefined || value === '' ||
      (Array.isArray(value) && !value.length)) return;
  dl.append(el('dt', null, t(key)));
  const dd = el('dd');
  if (value instanceof Node) dd.append(value);
  else dd.textContent = Array.isArray(value) ? value.join(', ') : value;
  dl.append(dd);
}

async function drawDetail(id, system) {
  /* its levels in the interface language and the chosen system */
  const p = new URLSearchParams({ lang: ui });
  if (system) p.set('system', system);
  const doc = await getJson(resourceUrl(id) + '?' + p.toString());
  $('detail-title').textContent = pick(doc.title) || id;
  $('detail-description').textContent = pick(doc.description);
  const dl = $('detail-fields');
  dl.replaceChildren();
  const src = safeUrl(doc.source_url);
  field(dl, 'source', src ? link(src, src) : t('noSource'));
  field(dl, 'licence', licenceNode(doc.licence, doc.licence_url));
  field(dl, 'rights', doc.rights);
  field(dl, 'levels', Array.isArray(doc.levels_shown)
        ? doc.levels_shown.map(levelText) : terms(doc.levels));
  field(dl, 'subjects', terms(doc.subjects));
  field(dl, 'types', terms(doc.resource_types));
  field(dl, 'audience', terms(doc.audience));
  field(dl, 'ages', doc.age_range);
  field(dl, 'languages', doc.languages);
  field(dl, 'keywords', doc.keywords ? (doc.keywords[ui] ||
        Object.values(doc.keywords)[0] || []) : []);
  field(dl, 'contributors', Array.isArray(doc.contributors)
        ? doc.contributors.map(c => c && c.name).filter(Boolean) : []);
  const files = el('span', 'files');
  for (const name of fileNames(doc)) {
    if (files.childNodes.length) files.append(', ');
    files.append(fileLink(name, id, name));
  }
  field(dl, 'files', files.childNodes.length ? files : null);
  if (doc.rating && typeof doc.rating === 'object') {
    const n = Number(doc.rating.count) || 0;
    field(dl, 'rating', n > 0 ? t('stars', Number(doc.rating.average) || 0, n)
                              : t('unrated'));
  }
  if (doc.downloads !== undefined)
    field(dl, 'downloads', String(Number(doc.downloads) || 0));
  field(dl, 'created', doc.created);
  field(dl, 'updated', doc.updated);
  field(dl, 'origin', id.split('/')[0]);
  field(dl, 'id', id);
}

let generation = 0;

async function render() {
  const s = readState();
  const mine = ++generation;
  $('q').value = s.q;
  $('system').value = s.system;
  document.body.classList.toggle('open', !!s.open);
  $('detail').hidden = !s.open;
  try {
    if (s.open) {
      await drawDetail(s.open, s.system);
      return;
    }
    $('status').textContent = t('loading');
    const answer = await search(s);
    if (mine === generation) drawResults(answer, s);
  } catch (e) {
    if (mine === generation) $('status').textContent = t('error', e.message);
  }
}

function setLanguage(lang) {
  ui = TEXT[lang] ? lang : 'en';
  try { localStorage.setItem('oernode.lang', ui); } catch (e) { /* none */ }
  document.documentElement.lang = ui;
  for (const n of document.querySelectorAll('[data-i18n]'))
    n.textContent = t(n.dataset.i18n);
  for (const n of document.querySelectorAll('[data-i18n-placeholder]'))
    n.placeholder = t(n.dataset.i18nPlaceholder);
  for (const b of document.querySelectorAll('button.lang'))
    b.setAttribute('aria-pressed', String(b.dataset.lang === ui));
}

function start() {
  let lang = null;
  try { lang = localStorage.getItem('oernode.lang'); } catch (e) { /* */ }
  if (!lang) lang = (navigator.language || 'en').toLowerCase()
    .startsWith('nl') ? 'nl' : 'en';
  setLanguage(lang);
  for (const b of document.querySelectorAll('button.lang'))
    b.addEventListener('click', () => { setLanguage(b.dataset.lang);
                                        render(); });
  $('search').addEventListener('submit', ev => {
    ev.preventDefault();
    const s = readState();
    s.q = $('q').value.trim();
    s.offset = 0;
    s.open = null;
    writeState(s);
  });
  $('system').addEventListener('change', () => {
    const s = readState();
    s.system = $('system').value;
    writeState(s);
  });
  $('prev').addEventListener('click', () => {
    const s = readState();
    s.offset = Math.max(0, s.offset - PAGE);
    writeState(s);
  });
  $('next').addEventListener('click', () => {
    const s = readState();
    s.offset += PAGE;
    writeState(s);
  });
  $('back').addEventListener('click', () => {
    const s = readState();
    s.open = null;
    writeState(s);
  });
  $('clear').addEventListener('click', () => {
    const s = readState();
    for (const f of FACETS) s.filters[f] = [];
    s.offset = 0;
    writeState(s);
  });
  $('home').addEventListener('click', ev => {
    ev.preventDefault();
    writeState({ q: '', offset: 0, open: null, system: readState().system,
                 filters: Object.fromEntries(FACETS.map(f => [f, []])) });
  });
  window.addEventListener('hashchange', render);
  render();
}

document.addEventListener('DOMContentLoaded', start);
