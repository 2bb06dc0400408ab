// Turns the single-page HTML build into a book, in the browser before printing (book_pdf/__init__.py).
// `book`: {title, lines: [text under the title], parts: [{caption, files: [docname, ...]}],
//         pageHeight: the printed height of a page in CSS pixels (the viewport is as wide as a printed page)}.
// Returns {entries: [anchor ids the contents list points to], dropped: [links that lead nowhere in the PDF]}.
(book) => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const make = (tag, className, text) => {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  };
  const headingText = (heading) => {
    const copy = heading.cloneNode(true);
    copy.querySelectorAll('.headerlink, .section-number').forEach(e => e.remove());
    return copy.textContent.trim();
  };

  // The theme keeps code blocks, tables and admonitions whole on a page; one taller than half a page
  // would leave most of a page blank before it: those may break.
  for (const block of document.querySelectorAll('div.highlight, div.literal-block-wrapper, .cell_input, .cell_output, table, .admonition'))
    if (block.getBoundingClientRect().height > book.pageHeight / 2) block.classList.add('book-breakable');

  // Images are all loaded before printing.
  document.querySelectorAll('img[loading]').forEach(img => img.removeAttribute('loading'));

  // Links: to a place on this page -> "#id" (some extensions write "book/intro.html#id"); to another
  // file of the site (a download, a figure's full-size image) -> plain text, since the PDF travels alone.
  const dropped = [];
  for (const a of Array.from(document.querySelectorAll('a[href]'))) {
    const url = new URL(a.href, document.baseURI);
    if (url.origin !== location.origin) continue;
    const id = decodeURIComponent(url.hash.slice(1));
    if (id && document.getElementById(id)) {
      a.setAttribute('href', '#' + url.hash.slice(1));
    } else if (!a.closest('.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article, .bd-footer')) {
      dropped.push(a.getAttribute('href'));
      a.removeAttribute('href');
    }
  }

  // Chapters: the section after each "document-<docname>" marker; parts get a heading of their own.
  const chapter = (file) => {
    const marker = document.getElementById('document-' + file);
    const section = marker && marker.nextElementSibling;
    if (!section || section.tagName !== 'SECTION') throw new Error(`no chapter for ${file} in the page`);
    return {marker, section, heading: section.querySelector('h1, h2, h3, h4')};
  };
  const contents = make('nav', 'book-contents');
  contents.setAttribute('aria-label', 'Contents');
  contents.append(make('h1', null, 'Contents'));
  const entries = [];
  const entry = (id, heading) => {
    const li = make('li');
    const a = make('a');
    a.setAttribute('href', '#' + id);
    a.dataset.target = id;
    const number = heading.querySelector('.section-number');
    a.append(make('span', 'book-entry-number', number ? number.textContent.trim().replace(/\.$/, '') : ''),
             make('span', 'book-entry-title', headingText(heading)), make('span', 'book-entry-page', '000'));
    li.append(a);
    entries.push(id);
    return li;
  };

  const first = article.querySelector('section');
  first.classList.add('book-chapter');
  const front = make('ul');
  front.append(entry(first.id, first.querySelector('h1, h2')));
  contents.append(front);
  for (const part of book.parts) {
    const list = make('ul');
    let previous = null;
    for (const [index, file] of part.files.entries()) {
      const {marker, section, heading} = chapter(file);
      section.classList.add('book-chapter');
      const item = entry(marker.id, heading);
      // A file inside the previous one's section (a problem set under "Assignments") is listed under it.
      if (previous && previous.section.contains(marker)) {
        let sub = previous.item.querySelector('ul');
        if (!sub) previous.item.append(sub = make('ul'));
        sub.append(item);
      } else {
        list.append(item);
        previous = {section, item};
      }
      if (index === 0) {
        section.classList.add('first-in-part');
        marker.before(make('h1', 'book-part', part.caption));
      }
      // The marker is what links to the chapter point at: on the chapter's page, not at the foot of the previous one.
      section.prepend(marker);
    }
    contents.append(make('p', 'book-contents-part', part.caption), list);
  }

  const title = make('div', 'book-title-page');
  title.append(make('p', 'book-title', book.title));
  for (const line of book.lines) title.append(make('p', line.className || null, line.text));
  article.prepend(title, contents);
  document.title = book.title;
  return {entries, dropped};
}
