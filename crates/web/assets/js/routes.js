// Every client-side route and the page that draws it.

import { route, setNotFound } from './router.js';
import * as admin from './pages/admin.js';
import * as adminCluster from './pages/admin-cluster.js';
import * as adminEvent from './pages/admin-event.js';
import * as adminNew from './pages/admin-new.js';
import * as auth from './pages/auth.js';
import * as book from './pages/book.js';
import * as checkIn from './pages/check-in.js';
import * as event from './pages/event.js';
import * as events from './pages/events.js';
import * as invite from './pages/invite.js';
import * as notFound from './pages/not-found.js';
import * as payment from './pages/payment.js';
import * as paymentResult from './pages/payment-result.js';
import * as queue from './pages/queue.js';
import * as reservations from './pages/reservations.js';
import * as seats from './pages/seats.js';
import * as vwr from './pages/vwr.js';

export function registerRoutes() {
  route('/', events);
  route('/login', auth.signInPage);
  route('/signup', auth.signUpPage);
  route('/verify-email', auth.verifyEmailPage);
  route('/invite', invite);
  route('/events/:id', event);
  route('/events/:id/seats', seats);
  route('/events/:id/book', book);
  route('/vwr/:id', vwr);
  route('/queue/:id', queue);
  route('/payment/success', paymentResult.success);
  route('/payment/fail', paymentResult.failure);
  route('/payment/:id', payment);
  route('/reservations', reservations);
  route('/check-in', checkIn);
  route('/admin', admin);
  route('/admin/cluster', adminCluster);
  route('/admin/events/new', adminNew);
  route('/admin/events/:id', adminEvent);
  setNotFound(notFound);
}
