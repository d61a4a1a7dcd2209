// pst-extractor (npm) as an oracle: one JSON line per folder with its messages'
// subjects, senders, body lengths, recipient counts and attachment names and sizes.
// Usage: NODE_PATH=.../node_modules node pst_extractor_walk.js FILE.pst
const { PSTFile } = require('pst-extractor');
const file = new PSTFile(process.argv[2]);
function walk(folder, path) {
  const out = { path, count: folder.contentCount, messages: [] };
  if (folder.contentCount > 0) {
    let m = folder.getNextChild();
    while (m != null) {
      const atts = [];
      for (let i = 0; i < m.numberOfAttachments; i++) {
        const a = m.getAttachment(i);
        atts.push({ name: a.longFilename || a.filename, size: a.filesize });
      }
      out.messages.push({ subject: m.subject, sender: m.senderName, body: (m.body || '').length, recipients: m.numberOfRecipients, attachments: atts });
      m = folder.getNextChild();
    }
  }
  console.log(JSON.stringify(out));
  if (folder.hasSubfolders) for (const child of folder.getSubFolders()) walk(child, path + '/' + child.displayName);
}
walk(file.getRootFolder(), '');
