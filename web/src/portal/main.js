import '../shared/styles.css';
import { render } from 'preact';
import { html } from '../shared/html.js';
import { PortalApp } from './app.js';

const root = document.getElementById('app');
root.textContent = '';
render(html`<${PortalApp} />`, root);
