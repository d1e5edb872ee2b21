// Sieve chat page: talks to the server it was served from through the OpenAI-style API
// (POST /v1/chat/completions with stream: true) and Sieve's own GET /sieve/methods.
// No framework and no build step. Model text only ever reaches the page through textContent, never as markup.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    model: $('model'), status: $('status'), messages: $('messages'), error: $('error'), stats: $('stats'),
    composer: $('composer'), prompt: $('prompt'), send: $('send'), stop: $('stop'), clear: $('clear'),
    system: $('system'), temperature: $('temperature'), maxTokens: $('max-tokens'), seed: $('seed'), ignoreEos: $('ignore-eos'),
    kv: $('kv'), budget: $('budget'), pop: $('pop'), popHint: $('pop-hint'),
    sparsity: $('sparsity'), sparsityHint: $('sparsity-hint'), apiKey: $('api-key'), reconnect: $('reconnect'),
  };

  // Settings the page remembers across reloads; the API key is deliberately not among them.
  const SETTINGS_KEY = 'sieve.webui.settings';
  const REMEMBERED = ['system', 'temperature', 'maxTokens', 'seed', 'budget', 'pop'];

  const state = {
    modelId: null,       // from GET /v1/models; requests name it so a server with one model accepts them
    methods: null,       // from GET /sieve/methods
    history: [],         // [{role: 'user'|'assistant', content}] sent with every request, system prompt aside
    controller: null,    // AbortController of the request in flight
  };

  // ---------- helpers ----------

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    const key = ui.apiKey.value.trim();
    if (key) h.Authorization = 'Bearer ' + key;
    return h;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.textContent = '';
    ui.error.hidden = true;
  }

  // Turns a failed response into one line: the OpenAI-style {"error": {"message", "type", "code"}} body when the
  // server sent one, otherwise the status and the start of whatever it sent.
  async function describeFailure(res) {
    let text = '';
    try { text = await res.text(); } catch { /* body unreadable: the status alone still says something */ }
    let message = text.trim().slice(0, 300);
    let type = null;
    try {
      const body = JSON.parse(text);
      if (body && body.error) {
        if (typeof body.error === 'string') message = body.error;
        else {
          message = body.error.message || message;
          type = body.error.type || body.error.code || null;
        }
      }
    } catch { /* not JSON: keep the raw text */ }
    let line = `${res.status} ${res.statusText || ''}`.trim() + (type ? ` (${type})` : '') + (message ? `: ${message}` : '');
    const retry = res.headers.get('Retry-After');
    if (retry) line += ` — retry after ${retry} s`;
    return line;
  }

  function atBottom() {
    const m = ui.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 40;
  }

  function scrollDown() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function addBubble(role, text) {
    const el = document.createElement('div');
    el.className = `msg msg-${role}`;
    el.dataset.role = role;
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = role === 'user' ? 'You' : 'Assistant';
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = text;
    const meta = document.createElement('div');
    meta.className = 'meta';
    el.append(who, body, meta);
    ui.messages.append(el);
    scrollDown();
    return { el, body, meta };
  }

  function setBusy(busy) {
    document.body.dataset.busy = busy ? 'true' : 'false';
    ui.send.disabled = busy || !state.modelId;
    ui.stop.disabled = !busy;
    ui.clear.disabled = busy;
  }

  // ---------- settings ----------

  function loadSettings() {
    let saved = {};
    try { saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}') || {}; } catch { saved = {}; }
    for (const k of REMEMBERED) if (typeof saved[k] === 'string') ui[k].value = saved[k];
    state.savedKv = typeof saved.kv === 'string' ? saved.kv : '';
    state.savedSparsity = typeof saved.sparsity === 'boolean' ? saved.sparsity : true;
  }

  function saveSettings() {
    const s = {};
    for (const k of REMEMBERED) s[k] = ui[k].value;
    s.kv = ui.kv.value;
    s.sparsity = ui.sparsity.checked;
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(s)); } catch { /* storage off: settings last this page */ }
  }

  function updateBudgetField() {
    // A budget only means something for the compressing caches; dense keeps every row.
    const kv = ui.kv.value;
    ui.budget.disabled = kv === '' || kv.startsWith('dense');
  }

  // ---------- server info ----------

  function fillMethods(m) {
    state.methods = m;
    while (ui.kv.options.length > 1) ui.kv.remove(1);
    for (const name of Array.isArray(m.kv) ? m.kv : []) {
      const opt = document.createElement('option');
      opt.value = name;
      opt.textContent = name;
      ui.kv.append(opt);
    }
    ui.kv.options[0].textContent = typeof m.kv_default === 'string' ? `server default (${m.kv_default})` : 'server default';
    if ([...ui.kv.options].some((o) => o.value === state.savedKv)) ui.kv.value = state.savedKv;
    updateBudgetField();

    const pop = m.pop || {};
    if (Number.isInteger(pop.layers)) {
      ui.pop.max = String(pop.layers - 1);
      ui.popHint.textContent = `(0 = none, of ${pop.layers} layers; server default ${pop.default ?? 0})`;
    }

    const sp = m.sparsity || {};
    ui.sparsity.disabled = !sp.loaded;
    ui.sparsity.checked = !!sp.loaded && state.savedSparsity;
    ui.sparsityHint.textContent = sp.loaded ? `(${sp.method || 'thresholds'} file loaded)` : '(no thresholds file loaded)';
  }

  async function loadServerInfo() {
    state.modelId = null;
    ui.model.textContent = 'connecting…';
    setBusy(false);
    try {
      const [models, methods] = await Promise.all([
        fetch('v1/models', { headers: headers() }),
        fetch('sieve/methods', { headers: headers() }),
      ]);
      if (!models.ok) {
        ui.model.textContent = 'unavailable';
        showError('Could not list models: ' + await describeFailure(models)
          + (models.status === 401 ? ' — enter the server\'s API key and press Reconnect.' : ''));
        return;
      }
      const list = await models.json();
      const first = list && Array.isArray(list.data) && list.data[0];
      if (!first || typeof first.id !== 'string') {
        ui.model.textContent = 'unavailable';
        showError('The server listed no model.');
        return;
      }
      state.modelId = first.id;
      ui.model.textContent = first.id;
      clearError();
      if (methods.ok) fillMethods(await methods.json());
      else ui.popHint.textContent = '(methods unavailable: ' + await describeFailure(methods) + ')';
    } catch (e) {
      ui.model.textContent = 'unavailable';
      showError('Cannot reach the server: ' + e.message);
    } finally {
      setBusy(false);
    }
  }

  // ---------- request ----------

  function buildBody() {
    const messages = [];
    const system = ui.system.value.trim();
    if (system) messages.push({ role: 'system', content: system });
    messages.push(...state.history);

    const body = {
      model: state.modelId,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    };
    // An empty field means "the server's default": it is left out rather than sent as 0.
    const num = (input) => (input.value.trim() === '' ? null : Number(input.value));
    const temperature = num(ui.temperature);
    if (temperature !== null) body.temperature = temperature;
    const maxTokens = num(ui.maxTokens);
    if (maxTokens !== null) body.max_tokens = maxTokens;
    const seed = num(ui.seed);
    if (seed !== null) body.seed = seed;
    if (ui.ignoreEos.checked) body.ignore_eos = true;   // llama-server's extension, which the Sieve server accepts

    const sieve = {};
    if (ui.kv.value) sieve.kv = ui.kv.value;
    if (ui.kv.value && !ui.budget.disabled && ui.budget.value.trim()) sieve.budget = ui.budget.value.trim();
    const pop = num(ui.pop);
    if (pop !== null) sieve.pop = pop;
    if (state.methods && state.methods.sparsity && state.methods.sparsity.loaded) sieve.sparsity = ui.sparsity.checked;
    if (Object.keys(sieve).length) body.sieve = sieve;
    return body;
  }

  // Reads a server-sent-event stream and calls onData with each event's data field (its data lines joined).
  async function readEvents(stream, onData) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = event.split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
          .join('\n');
        if (data && onData(data) === false) { await reader.cancel(); return; }
      }
    }
  }

  function formatStats(r) {
    const parts = [];
    const tokens = r.usage && Number.isInteger(r.usage.completion_tokens) ? r.usage.completion_tokens : r.chunks;
    parts.push(`${tokens} token${tokens === 1 ? '' : 's'}`);
    // Decode speed from the first token to the last (time to first token is prefill and queueing, shown apart).
    if (r.tFirst !== null) {
      const decodeS = (r.tLast - r.tFirst) / 1000;
      // One token gives no decode interval: no rate rather than one that is mostly prefill.
      if (tokens > 1 && decodeS > 0) parts.push(`${((tokens - 1) / decodeS).toFixed(1)} tokens/s`);
      parts.push(`first token ${Math.round(r.tFirst - r.tStart)} ms`);
    }
    if (r.usage && Number.isInteger(r.usage.prompt_tokens)) {
      const cached = r.usage.prompt_tokens_details && r.usage.prompt_tokens_details.cached_tokens;
      parts.push(`prompt ${r.usage.prompt_tokens} tokens` + (cached > 0 ? ` (${cached} cached)` : ''));
    }
    if (r.stopped) parts.push('stopped');
    else if (r.finish) parts.push(`finish: ${r.finish}`);
    return parts.join(' · ');
  }

  async function send() {
    const text = ui.prompt.value;
    if (!text.trim() || state.controller || !state.modelId) return;
    clearError();
    saveSettings();

    state.history.push({ role: 'user', content: text });
    const userBubble = addBubble('user', text);
    const reply = addBubble('assistant', '');
    reply.el.dataset.state = 'streaming';
    ui.prompt.value = '';
    ui.stats.textContent = '';

    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    ui.status.textContent = 'generating…';

    const r = { chunks: 0, usage: null, finish: null, stopped: false, tStart: performance.now(), tFirst: null, tLast: null };
    let content = '';
    let failure = null;

    try {
      const res = await fetch('v1/chat/completions', {
        method: 'POST', headers: headers(), body: JSON.stringify(buildBody()), signal: controller.signal,
      });
      if (!res.ok) failure = await describeFailure(res);
      else if (!res.body) failure = 'The response has no body to stream.';
      else {
        await readEvents(res.body, (data) => {
          if (data === '[DONE]') return false;
          let chunk;
          try { chunk = JSON.parse(data); } catch { failure = 'Unreadable event from the server: ' + data.slice(0, 200); return false; }
          if (chunk.error) { failure = chunk.error.message || JSON.stringify(chunk.error); return false; }
          if (chunk.usage) r.usage = chunk.usage;
          const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : null;
          if (!choice) return true;
          const piece = choice.delta && typeof choice.delta.content === 'string' ? choice.delta.content : '';
          if (piece) {
            const stick = atBottom();
            content += piece;
            reply.body.textContent = content;
            r.chunks++;
            reply.el.dataset.chunks = String(r.chunks);
            const now = performance.now();
            if (r.tFirst === null) r.tFirst = now;
            r.tLast = now;
            if (stick) scrollDown();
          }
          if (choice.finish_reason) r.finish = choice.finish_reason;
          return true;
        });
      }
    } catch (e) {
      if (e && e.name === 'AbortError') r.stopped = true;
      else failure = 'Cannot reach the server: ' + (e && e.message ? e.message : String(e));
    } finally {
      state.controller = null;
    }

    if (!content && (failure || r.stopped)) {
      // Nothing came back: the turn is undone and the message put back, so the conversation stays as it was.
      state.history.pop();
      userBubble.el.remove();
      reply.el.remove();
      if (!ui.prompt.value) ui.prompt.value = text;
    } else {
      state.history.push({ role: 'assistant', content });
      reply.el.dataset.state = failure ? 'error' : r.stopped ? 'stopped' : 'done';
      reply.meta.textContent = r.stopped ? 'stopped' : r.finish === 'length' ? 'cut at max tokens' : '';
      ui.stats.textContent = formatStats(r);
    }
    if (failure) showError(failure);
    else if (r.stopped && !content) ui.stats.textContent = 'stopped before the first token';
    ui.status.textContent = '';
    setBusy(false);
    ui.prompt.focus();
  }

  function stop() {
    if (state.controller) state.controller.abort();
  }

  function newChat() {
    if (state.controller) return;
    state.history = [];
    ui.messages.replaceChildren();
    ui.stats.textContent = '';
    clearError();
    ui.prompt.focus();
  }

  // ---------- wiring ----------

  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); send(); });
  ui.stop.addEventListener('click', stop);
  ui.clear.addEventListener('click', newChat);
  ui.reconnect.addEventListener('click', loadServerInfo);
  ui.kv.addEventListener('change', () => { updateBudgetField(); saveSettings(); });
  ui.sparsity.addEventListener('change', saveSettings);
  ui.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') stop(); });

  loadSettings();
  setBusy(false);
  loadServerInfo();
})();
