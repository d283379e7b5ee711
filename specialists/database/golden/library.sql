-- A small library database in the shape `sqlite3 library.db .dump` writes.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER);
INSERT INTO authors VALUES(1,'Ursula K. Le Guin',1929);
INSERT INTO authors VALUES(2,'Italo Calvino',1923);
INSERT INTO authors VALUES(3,'Octavia E. Butler',1947);
CREATE TABLE books (
  id INTEGER PRIMARY KEY,
  author_id INTEGER REFERENCES authors(id),
  title TEXT,
  year INTEGER,
  pages INTEGER
);
INSERT INTO books VALUES(1,1,'The Dispossessed',1974,387);
INSERT INTO books VALUES(2,1,'The Left Hand of Darkness',1969,304);
INSERT INTO books VALUES(3,2,'Invisible Cities',1972,165);
INSERT INTO books VALUES(4,2,'If on a winter''s night a traveler; a novel',1979,260);
INSERT INTO books VALUES(5,3,'Kindred',1979,264);
CREATE VIEW book_authors AS SELECT b.title, a.name FROM books b JOIN authors a ON a.id = b.author_id;
COMMIT;
