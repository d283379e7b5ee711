BEGIN TRANSACTION;
CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT, joined TEXT);
CREATE TABLE loans (id INTEGER PRIMARY KEY, member_id INTEGER REFERENCES members(id), title TEXT,
                    loan_date TEXT, return_date TEXT);
INSERT INTO members VALUES (1,'Olga','2022-01-10'),(2,'Pedro','2022-03-02'),(3,'Quentin','2023-05-19'),
                           (4,'Rania','2023-09-01'),(5,'Sven','2024-01-15');
INSERT INTO loans VALUES
 (1,1,'Dune','2024-02-01','2024-02-15'),
 (2,1,'Emma','2024-03-01',NULL),
 (3,2,'Solaris','2024-02-10','2024-02-20'),
 (4,3,'Kindred','2024-02-12','2024-03-04'),
 (5,3,'Beloved','2024-03-20',NULL),
 (6,4,'Ulysses','2024-01-05','2024-01-26'),
 (7,2,'Dracula','2024-03-15','2024-03-22'),
 (8,4,'Middlemarch','2024-03-25',NULL),
 (9,1,'Ivanhoe','2024-01-03','2024-01-10');
COMMIT;
