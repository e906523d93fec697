import QRCode from 'qrcode';

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 320 });
}

/**
 * The cross-device login page: the QR code (inline SVG, no external assets)
 * and a script that waits on the session's event stream and follows the
 * redirect once the wallet has answered.
 */
export async function loginPage(walletUrl: string, sessionId: string): Promise<string> {
  const svg = await qrSvg(walletUrl);
  const events = `/api/v1/sessions/${encodeURIComponent(sessionId)}/events`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in with your wallet</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;text-align:center}#qr svg{width:18rem;height:18rem}#status{margin-top:1rem;color:#555}</style>
</head>
<body>
<h1>Sign in with your wallet</h1>
<p>Scan the code with your wallet app.</p>
<div id="qr">${svg}</div>
<p><a id="wallet-link" href="${escapeHtml(walletUrl)}">Open the wallet on this device</a></p>
<p id="status" role="status">Waiting for your wallet…</p>
<script>
(function () {
  var status = document.getElementById('status');
  var source = new EventSource(${JSON.stringify(events).replace(/</g, '\\u003c')});
  source.onmessage = function (event) {
    var data = JSON.parse(event.data);
    if (data.status === 'answered') {
      source.close();
      status.textContent = 'Signed in.';
      if (data.redirectTo) window.location.assign(data.redirectTo);
    } else if (data.status === 'failed') {
      source.close();
      status.textContent = 'The presentation was refused: ' + data.errorDescription;
    }
  };
})();
</script>
</body>
</html>`;
}
