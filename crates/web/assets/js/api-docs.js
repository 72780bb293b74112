// The API reference page (/api/docs): fetches the node's OpenAPI document and lists its
// operations grouped by tag, with parameters, request bodies, responses and security, and
// the schemas they name. Every string from the document goes in as text (dom.js), never
// as markup.

import { h, append } from './dom.js';

const DOC_URL = '/api/openapi.json';
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'];

const main = document.getElementById('doc-main');
const nav = document.getElementById('doc-nav');
const filter = document.getElementById('doc-filter');

/** The schema name of a `$ref` like `#/components/schemas/EventView`. */
function refName(ref) {
  return ref.split('/').pop();
}

/** A short, readable type for a schema: `EventView`, `string (uuid)`, `[TicketTypeView]`. */
function typeOf(schema) {
  if (!schema) return '';
  if (schema.$ref) return h('a', { href: `#schema-${refName(schema.$ref)}` }, refName(schema.$ref));
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (Array.isArray(schema[key])) {
      const parts = schema[key].map(typeOf);
      const joined = [];
      parts.forEach((part, i) => joined.push(i ? (key === 'allOf' ? ' & ' : ' | ') : '', part));
      return h('span', null, ...joined);
    }
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.filter((t) => t !== 'null').join(' | ') + ' | null';
  if (type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'))) {
    return h('span', null, '[', typeOf(schema.items), ']');
  }
  const format = schema.format ? ` (${schema.format})` : '';
  const values = Array.isArray(schema.enum) ? ` ∈ {${schema.enum.join(', ')}}` : '';
  return `${type ?? 'any'}${format}${values}`;
}

function properties(schema) {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(props).map(([name, prop]) =>
    h('tr', null,
      h('td', null, h('code', null, name), required.has(name) ? ' *' : ''),
      h('td', null, typeOf(prop)),
      h('td', null, prop.description ?? '')));
  if (!rows.length) return h('p', { class: 'muted' }, typeOf(schema));
  return h('table', null,
    h('thead', null, h('tr', null, h('th', null, 'field'), h('th', null, 'type'), h('th', null, ''))),
    h('tbody', null, rows));
}

function content(body) {
  return Object.entries(body?.content ?? {}).map(([type, media]) =>
    h('div', null, h('code', null, type), ' ', typeOf(media.schema)));
}

function operationView(method, path, op, doc) {
  const params = (op.parameters ?? []).map((p) =>
    h('tr', null,
      h('td', null, h('code', null, p.name), p.required ? ' *' : ''),
      h('td', null, p.in),
      h('td', null, typeOf(p.schema)),
      h('td', null, p.description ?? '')));
  const responses = Object.entries(op.responses ?? {}).map(([status, response]) =>
    h('tr', null,
      h('td', null, h('code', null, status)),
      h('td', null, response.description ?? ''),
      h('td', null, content(response))));
  const security = (op.security ?? doc.security ?? [])
    .map((req) => Object.keys(req).join(' + '))
    .filter(Boolean);
  const id = `op-${method}-${path}`.replace(/[^a-zA-Z0-9-]/g, '-');
  return h('details', { class: 'op', id, dataset: { search: `${method} ${path} ${op.summary ?? ''} ${(op.tags ?? []).join(' ')}`.toLowerCase() } },
    h('summary', null,
      h('span', { class: `method method-${method}` }, method.toUpperCase()), ' ',
      h('code', null, path), ' ',
      h('span', { class: 'muted' }, op.summary ?? '')),
    op.description ? h('p', null, op.description) : null,
    security.length
      ? h('p', null, 'Credentials (any one): ', security.join(' · '))
      : h('p', { class: 'muted' }, 'No credentials needed.'),
    params.length ? [h('h4', null, 'Parameters'), h('table', null,
      h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'in'), h('th', null, 'type'), h('th', null, ''))),
      h('tbody', null, params))] : null,
    op.requestBody ? [h('h4', null, 'Request body', op.requestBody.required ? '' : ' (optional)'), content(op.requestBody)] : null,
    h('h4', null, 'Responses'),
    h('table', null, h('tbody', null, responses)));
}

function render(doc) {
  document.getElementById('doc-title').textContent = `${doc.info?.title ?? 'API'} ${doc.info?.version ?? ''} — OpenAPI ${doc.openapi}`;
  const byTag = new Map((doc.tags ?? []).map((t) => [t.name, { description: t.description, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, { ops: [] });
      byTag.get(tag).ops.push([method, path, op]);
    }
  }
  main.replaceChildren();
  if (doc.info?.description) append(main, h('section', { class: 'intro' }, h('p', null, doc.info.description)));
  for (const [tag, group] of byTag) {
    if (!group.ops.length) continue;
    append(nav, h('a', { href: `#tag-${tag}` }, `${tag} (${group.ops.length})`));
    append(main, h('section', { class: 'tag', id: `tag-${tag}` },
      h('h2', null, tag),
      group.description ? h('p', { class: 'muted' }, group.description) : null,
      group.ops.map(([method, path, op]) => operationView(method, path, op, doc))));
  }
  const schemas = Object.entries(doc.components?.schemas ?? {});
  append(nav, h('a', { href: '#schemas' }, `schemas (${schemas.length})`));
  append(main, h('section', { id: 'schemas' }, h('h2', null, 'Schemas'),
    schemas.map(([name, schema]) => h('div', { class: 'schema', id: `schema-${name}` },
      h('h3', null, name),
      schema.description ? h('p', null, schema.description) : null,
      properties(schema)))));
  const schemes = Object.entries(doc.components?.securitySchemes ?? {});
  append(main, h('section', { id: 'security' }, h('h2', null, 'Credentials'),
    h('table', null, h('tbody', null, schemes.map(([name, scheme]) => h('tr', null,
      h('td', null, h('code', null, name)),
      h('td', null, scheme.type === 'http' ? `${scheme.scheme} (Authorization header)` : `${scheme.in} ${scheme.name}`),
      h('td', null, scheme.description ?? '')))))));
}

filter.addEventListener('input', () => {
  const words = filter.value.trim().toLowerCase();
  for (const op of main.querySelectorAll('.op')) {
    op.hidden = Boolean(words) && !op.dataset.search.includes(words);
  }
});

fetch(DOC_URL, { headers: { accept: 'application/json' } })
  .then((response) => {
    if (!response.ok) throw new Error(`${DOC_URL} answered ${response.status}`);
    return response.json();
  })
  .then(render)
  .catch((err) => main.replaceChildren(h('p', { class: 'error' }, `Could not load the document: ${err.message}`)));
