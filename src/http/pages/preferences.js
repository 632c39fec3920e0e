// The preferences page's script, loaded by preferences.html with defer: it runs once the page's elements exist.
(() => {
  'use strict';
  const el = (id) => document.getElementById(id);
  const EVENTS = [
    ['BOOKING_CONFIRMED', 'Booking confirmed'], ['BOOKING_CANCELLED', 'Booking cancelled'],
    ['PAYMENT_COMPLETED', 'Payment received'], ['TRAVEL_DISRUPTION', 'Delays, cancellations, platform and gate changes'],
  ];
  const CHANNELS = [['email', 'Email'], ['sms', 'SMS'], ['whatsapp', 'WhatsApp'], ['websocket', 'Live alerts']];
  let session = null; // { userId, token }
  let loaded = null;  // the form's values as last loaded: Save sends only what differs

  function setStatus(node, state, message, details) {
    node.dataset.state = state;
    node.replaceChildren(document.createTextNode(message));
    if (details && details.length) {
      const list = document.createElement('ul');
      for (const detail of details) {
        const item = document.createElement('li');
        item.textContent = (detail.path ? detail.path + ': ' : '') + detail.message;
        list.append(item);
      }
      node.append(list);
    }
  }

  function buildForm() {
    const switches = el('channel-switches');
    const head = el('matrix').tHead.rows[0];
    for (const [channel, label] of CHANNELS) {
      const wrap = document.createElement('label');
      wrap.className = 'check';
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', id: 'channel-' + channel });
      box.addEventListener('change', markChannelColumns);
      wrap.append(box, document.createTextNode(' ' + label));
      switches.append(wrap);
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.append(th);
    }
    const body = el('matrix').tBodies[0];
    for (const [eventType, label] of EVENTS) {
      const row = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = label;
      row.append(th);
      for (const [channel, channelLabel] of CHANNELS) {
        const cell = row.insertCell();
        cell.dataset.channel = channel;
        const box = Object.assign(document.createElement('input'), { type: 'checkbox', id: 'pref-' + eventType + '-' + channel });
        box.setAttribute('aria-label', label + ' by ' + channelLabel);
        const effective = document.createElement('span');
        effective.className = 'effective';
        cell.append(box, effective);
      }
    }
    el('quiet-enabled').addEventListener('change', markQuietHours);
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['Asia/Kolkata', 'UTC'];
    el('time-zones').append(...zones.map((zone) => Object.assign(document.createElement('option'), { value: zone })));
  }

  function markQuietHours() {
    for (const id of ['quiet-start', 'quiet-end', 'quiet-tz']) el(id).disabled = !el('quiet-enabled').checked;
  }

  function markChannelColumns() {
    for (const [channel] of CHANNELS) {
      const off = !el('channel-' + channel).checked;
      for (const cell of document.querySelectorAll('td[data-channel="' + channel + '"]')) cell.classList.toggle('channel-off', off);
    }
  }

  async function fillLocales(current) {
    const select = el('locale');
    let locales = ['en', 'hi'];
    try {
      const response = await fetch('/templates');
      if (response.ok) locales = [...new Set((await response.json()).map((t) => t.locale))].sort();
    } catch { /* keep the two the gateway ships */ }
    if (current && !locales.includes(current)) locales.push(current);
    const names = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'language' }) : null;
    select.replaceChildren(...locales.map((locale) => {
      const option = document.createElement('option');
      option.value = locale;
      const english = names ? names.of(locale) : locale;
      const native = names ? new Intl.DisplayNames([locale], { type: 'language' }).of(locale) : '';
      option.textContent = english + (native && native !== english && native !== locale ? ' · ' + native : '') + ' (' + locale + ')';
      return option;
    }));
    select.value = current || 'en';
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: Object.assign({ accept: 'application/json' }, session ? { authorization: 'Bearer ' + session.token } : {},
        body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(answer.message || 'HTTP ' + response.status);
      error.details = answer.details || [];
      error.status = response.status;
      throw error;
    }
    return answer;
  }

  /** The stored choice for a cell, before the global switch: the user's own, else what the gateway does by default. */
  function choiceOf(prefs, eventType, channel) {
    const own = prefs.events && prefs.events[eventType] && prefs.events[eventType][channel];
    if (typeof own === 'boolean') return own;
    const defaults = prefs.defaults && prefs.defaults[eventType];
    if (defaults && typeof defaults[channel] === 'boolean') return defaults[channel];
    const effective = prefs.effective && prefs.effective[eventType];
    return Boolean(effective && effective[channel]);
  }

  function show(prefs) {
    const contact = prefs.contact || {};
    for (const [channel] of CHANNELS) el('channel-' + channel).checked = !(prefs.channels && prefs.channels[channel] === false);
    for (const [eventType] of EVENTS) {
      for (const [channel] of CHANNELS) {
        const box = el('pref-' + eventType + '-' + channel);
        box.checked = choiceOf(prefs, eventType, channel);
        const on = Boolean(prefs.effective && prefs.effective[eventType] && prefs.effective[eventType][channel]);
        box.parentElement.dataset.effective = String(on);
        box.parentElement.querySelector('.effective').textContent = on ? 'sent' : 'not sent';
      }
    }
    const quiet = prefs.quietHours;
    el('quiet-enabled').checked = Boolean(quiet);
    el('quiet-start').value = quiet ? String(quiet.start).slice(0, 5) : '22:00';
    el('quiet-end').value = quiet ? String(quiet.end).slice(0, 5) : '07:00';
    el('quiet-tz').value = quiet ? quiet.timeZone : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    el('min-delay').value = prefs.minDelayMinutes == null ? '' : String(prefs.minDelayMinutes);
    markQuietHours();
    el('contact-email').value = contact.email || '';
    el('contact-phone').value = contact.phone || '';
    el('contact-whatsapp').checked = contact.whatsappOptIn !== false;
    markChannelColumns();
    loaded = readForm();
  }

  function readForm() {
    const channels = {};
    const events = {};
    for (const [channel] of CHANNELS) channels[channel] = el('channel-' + channel).checked;
    for (const [eventType] of EVENTS) {
      events[eventType] = {};
      for (const [channel] of CHANNELS) events[eventType][channel] = el('pref-' + eventType + '-' + channel).checked;
    }
    const quietHours = el('quiet-enabled').checked
      ? { start: el('quiet-start').value, end: el('quiet-end').value, timeZone: el('quiet-tz').value.trim() }
      : null;
    const contact = { email: el('contact-email').value.trim(), phone: el('contact-phone').value.trim(), whatsappOptIn: el('contact-whatsapp').checked };
    // A number as typed (the API names what is wrong with it); empty means every delay.
    const typed = el('min-delay').value.trim();
    const minDelayMinutes = typed === '' ? null : Number(typed);
    return { channels, events, quietHours, locale: el('locale').value, contact, minDelayMinutes };
  }

  /** Only what the person changed: an untouched cell keeps following the operator's defaults. */
  function changes(before, after) {
    const patch = {};
    const diff = (a, b) => Object.fromEntries(Object.entries(b).filter(([key, value]) => a[key] !== value));
    const channels = diff(before.channels, after.channels);
    if (Object.keys(channels).length) patch.channels = channels;
    const events = {};
    for (const eventType of Object.keys(after.events)) {
      const changed = diff(before.events[eventType], after.events[eventType]);
      if (Object.keys(changed).length) events[eventType] = changed;
    }
    if (Object.keys(events).length) patch.events = events;
    if (JSON.stringify(before.quietHours) !== JSON.stringify(after.quietHours)) patch.quietHours = after.quietHours;
    if (before.locale !== after.locale) patch.locale = after.locale;
    if (before.minDelayMinutes !== after.minDelayMinutes) patch.minDelayMinutes = after.minDelayMinutes;
    const contact = diff(before.contact, after.contact);
    for (const key of ['email', 'phone']) if (contact[key] === '') contact[key] = null;
    if (Object.keys(contact).length) patch.contact = contact;
    return patch;
  }

  async function load() {
    const prefs = await api('GET', '/users/' + encodeURIComponent(session.userId) + '/preferences');
    await fillLocales(prefs.locale);
    show(prefs);
  }

  el('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const userId = el('user-id').value.trim();
    session = null;
    el('prefs').disabled = true;
    el('login').disabled = true;
    setStatus(el('status'), 'busy', 'logging in…');
    try {
      const login = await api('POST', '/auth/dev-login', { userId });
      session = { userId: login.userId, token: login.token };
      await load();
      el('prefs').disabled = false;
      setStatus(el('status'), 'ok', 'logged in as ' + session.userId);
      setStatus(el('save-status'), 'idle', 'nothing changed yet');
    } catch (error) {
      setStatus(el('status'), 'error', 'error: ' + error.message, error.details);
    } finally {
      el('login').disabled = false;
    }
  });

  el('save').addEventListener('click', async () => {
    if (!session || !loaded) return;
    const patch = changes(loaded, readForm());
    if (!Object.keys(patch).length) {
      setStatus(el('save-status'), 'unchanged', 'nothing to save: no changes');
      return;
    }
    el('save').disabled = true;
    setStatus(el('save-status'), 'busy', 'saving…');
    try {
      await api('PATCH', '/users/' + encodeURIComponent(session.userId) + '/preferences', patch);
      await load();
      setStatus(el('save-status'), 'saved', 'saved at ' + new Date().toLocaleTimeString());
    } catch (error) {
      setStatus(el('save-status'), 'error', 'not saved: ' + error.message, error.details);
    } finally {
      el('save').disabled = false;
    }
  });

  el('follow-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!session) return;
    const kind = el('follow-kind').value;
    const number = el('follow-number').value.trim();
    const body = { [kind === 'train' ? 'trainNumber' : 'flightNumber']: number };
    if (el('follow-date').value) body.journeyDate = el('follow-date').value;
    if (el('follow-min-delay').value.trim()) body.minDelayMinutes = Number(el('follow-min-delay').value);
    el('follow').disabled = true;
    setStatus(el('follow-status'), 'busy', 'following…');
    try {
      const answer = await api('POST', '/users/' + encodeURIComponent(session.userId) + '/itineraries', body);
      const what = (answer.flightNumber ? 'flight ' + answer.flightNumber : 'train ' + answer.trainNumber) + (answer.journeyDate ? ' on ' + answer.journeyDate : '') +
        (answer.minDelayMinutes ? ', delays of ' + answer.minDelayMinutes + ' minutes or more' : '');
      setStatus(el('follow-status'), 'saved', 'following ' + what);
    } catch (error) {
      setStatus(el('follow-status'), 'error', 'not followed: ' + error.message, error.details);
    } finally {
      el('follow').disabled = false;
    }
  });

  buildForm();
})();
