BEGIN TRANSACTION;
CREATE TABLE dq_results (
	id INTEGER NOT NULL, 
	check_run VARCHAR(64) NOT NULL, 
	run_at DATETIME NOT NULL, 
	table_name VARCHAR(128) NOT NULL, 
	day DATE NOT NULL, 
	check_name VARCHAR(255) NOT NULL, 
	observed TEXT, 
	value FLOAT, 
	threshold TEXT NOT NULL, 
	passed BOOLEAN NOT NULL, 
	detail TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "dq_results" VALUES(1,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.hubspot_contacts','2025-10-20','not_null(id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(2,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.hubspot_contacts','2025-10-20','not_null(createdAt)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(3,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.hubspot_contacts','2025-10-21','not_null(id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(4,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.hubspot_contacts','2025-10-21','not_null(createdAt)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(5,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-20','not_null(order_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(6,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-20','not_null(customer_email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(7,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-20','not_null(amount)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(8,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-20','not_null(ordered_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(9,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-20','not_null(updated_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(10,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-21','not_null(order_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(11,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-21','not_null(customer_email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(12,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-21','not_null(amount)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(13,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-21','not_null(ordered_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(14,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','bronze.orders','2025-10-21','not_null(updated_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(15,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','not_null(customer_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(16,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','not_null(email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(17,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','pattern(email)','0',0.0,'0 rows not matching ^[^@\s]+@[^@\s]+\.[a-z]{2,}$',1,NULL);
INSERT INTO "dq_results" VALUES(18,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','accepted_values(lifecycle_stage)','0',0.0,'0 rows outside [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]',1,NULL);
INSERT INTO "dq_results" VALUES(19,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','not_null(created_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(20,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','not_null(updated_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(21,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(22,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','unique(customer_id)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(23,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','row_count','500',500.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(24,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-20','null_rate(phone)','0.0',0.0,'<= 0.5',1,NULL);
INSERT INTO "dq_results" VALUES(25,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','not_null(customer_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(26,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','not_null(email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(27,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','pattern(email)','0',0.0,'0 rows not matching ^[^@\s]+@[^@\s]+\.[a-z]{2,}$',1,NULL);
INSERT INTO "dq_results" VALUES(28,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','accepted_values(lifecycle_stage)','0',0.0,'0 rows outside [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]',1,NULL);
INSERT INTO "dq_results" VALUES(29,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','not_null(created_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(30,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','not_null(updated_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(31,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(32,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','unique(customer_id)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(33,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','row_count','500',500.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(34,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.customers_clean','2025-10-21','null_rate(phone)','0.0',0.0,'<= 0.5',1,NULL);
INSERT INTO "dq_results" VALUES(35,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(order_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(36,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(customer_email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(37,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','pattern(customer_email)','0',0.0,'0 rows not matching ^[^@\s]+@[^@\s]+\.[a-z]{2,}$',1,NULL);
INSERT INTO "dq_results" VALUES(38,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(amount)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(39,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','min(amount)','0',0.0,'0 rows < 0',1,NULL);
INSERT INTO "dq_results" VALUES(40,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','max(amount)','0',0.0,'0 rows > 100000',1,NULL);
INSERT INTO "dq_results" VALUES(41,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(currency)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(42,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','accepted_values(currency)','0',0.0,'0 rows outside [USD, EUR, GBP]',1,NULL);
INSERT INTO "dq_results" VALUES(43,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(status)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(44,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','accepted_values(status)','0',0.0,'0 rows outside [pending, paid, shipped, cancelled, refunded]',1,NULL);
INSERT INTO "dq_results" VALUES(45,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(ordered_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(46,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','not_null(updated_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(47,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(48,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','unique(order_id)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(49,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','row_count','2000',2000.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(50,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-20','freshness(updated_at)','1.29h',1.29,'<= 48.0h',1,NULL);
INSERT INTO "dq_results" VALUES(51,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(order_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(52,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(customer_email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(53,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','pattern(customer_email)','0',0.0,'0 rows not matching ^[^@\s]+@[^@\s]+\.[a-z]{2,}$',1,NULL);
INSERT INTO "dq_results" VALUES(54,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(amount)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(55,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','min(amount)','0',0.0,'0 rows < 0',1,NULL);
INSERT INTO "dq_results" VALUES(56,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','max(amount)','0',0.0,'0 rows > 100000',1,NULL);
INSERT INTO "dq_results" VALUES(57,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(currency)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(58,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','accepted_values(currency)','0',0.0,'0 rows outside [USD, EUR, GBP]',1,NULL);
INSERT INTO "dq_results" VALUES(59,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(status)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(60,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','accepted_values(status)','0',0.0,'0 rows outside [pending, paid, shipped, cancelled, refunded]',1,NULL);
INSERT INTO "dq_results" VALUES(61,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(ordered_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(62,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','not_null(updated_at)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(63,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(64,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','unique(order_id)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(65,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','row_count','2000',2000.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(66,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','freshness(updated_at)','1.57h',1.57,'<= 48.0h',1,NULL);
INSERT INTO "dq_results" VALUES(67,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','silver.orders_clean','2025-10-21','row_count_vs_recent(1d)','1.0',1.0,'>= 0.2 and <= 5.0',1,NULL);
INSERT INTO "dq_results" VALUES(68,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','not_null(order_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(69,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','not_null(email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(70,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','pattern(email)','0',0.0,'0 rows not matching ^[0-9a-f]{64}$',1,NULL);
INSERT INTO "dq_results" VALUES(71,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','not_null(amount)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(72,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(73,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','unique(order_id)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(74,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-20','row_count','2000',2000.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(75,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','not_null(order_id)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(76,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','not_null(email)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(77,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','pattern(email)','0',0.0,'0 rows not matching ^[0-9a-f]{64}$',1,NULL);
INSERT INTO "dq_results" VALUES(78,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','not_null(amount)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(79,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(80,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','unique(order_id)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(81,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.customer_orders','2025-10-21','row_count','2000',2000.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(82,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','not_null(currency)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(83,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','not_null(orders)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(84,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','min(orders)','0',0.0,'0 rows < 1',1,NULL);
INSERT INTO "dq_results" VALUES(85,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','not_null(revenue)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(86,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','min(revenue)','0',0.0,'0 rows < 0',1,NULL);
INSERT INTO "dq_results" VALUES(87,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(88,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','unique(currency)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(89,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-20','row_count','3',3.0,'between 1 and -',1,NULL);
INSERT INTO "dq_results" VALUES(90,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','not_null(currency)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(91,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','not_null(orders)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(92,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','min(orders)','0',0.0,'0 rows < 1',1,NULL);
INSERT INTO "dq_results" VALUES(93,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','not_null(revenue)','0',0.0,'0 NULL rows',1,NULL);
INSERT INTO "dq_results" VALUES(94,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','min(revenue)','0',0.0,'0 rows < 0',1,NULL);
INSERT INTO "dq_results" VALUES(95,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','schema','0',0.0,'0 problems',1,NULL);
INSERT INTO "dq_results" VALUES(96,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','unique(currency)','0',0.0,'0 duplicates',1,NULL);
INSERT INTO "dq_results" VALUES(97,'20261127T203213-69bafb','2026-11-27 20:32:13.786947','gold.daily_revenue','2025-10-21','row_count','3',3.0,'between 1 and -',1,NULL);
CREATE TABLE incident_notes (
	id INTEGER NOT NULL, 
	incident_id VARCHAR(16) NOT NULL, 
	at DATETIME NOT NULL, 
	user VARCHAR(128), 
	text TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "incident_notes" VALUES(1,'INC-0001','2026-11-27 20:32:12.899592','root','a note');
CREATE TABLE incidents (
	id VARCHAR(16) NOT NULL, 
	title TEXT NOT NULL, 
	severity VARCHAR(8) NOT NULL, 
	status VARCHAR(8) NOT NULL, 
	opened_at DATETIME NOT NULL, 
	closed_at DATETIME, 
	opened_by VARCHAR(128), 
	closed_by VARCHAR(128), 
	summary TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "incidents" VALUES('INC-0001','fixture incident','sev3','open','2026-11-27 20:32:11.939969',NULL,'root',NULL,NULL);
CREATE TABLE jobs (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	command VARCHAR(64) NOT NULL, 
	layer VARCHAR(16) NOT NULL, 
	table_name VARCHAR(128) NOT NULL, 
	day DATE NOT NULL, 
	reason TEXT, 
	user VARCHAR(128), 
	host VARCHAR(255), 
	status VARCHAR(16) NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	rows_read BIGINT, 
	rows_written BIGINT, 
	rows_quarantined BIGINT, 
	rows_deduplicated BIGINT, 
	snapshot_before BIGINT, 
	snapshot_after BIGINT, 
	input_key VARCHAR(64), 
	error TEXT, 
	pid INTEGER, 
	PRIMARY KEY (id)
);
INSERT INTO "jobs" VALUES(1,'20261127T203208-673a2e','run','bronze','bronze.hubspot_contacts','2025-10-20','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:08.650848','2026-11-27 20:32:09.407859',500,500,0,0,7468164704265069143,2983846214782293783,'37aecf3dc0cfc12b79234bff34620c24',NULL,13150);
INSERT INTO "jobs" VALUES(2,'20261127T203208-673a2e','run','bronze','bronze.hubspot_contacts','2025-10-21','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:09.413080','2026-11-27 20:32:09.561020',500,500,0,0,2983846214782293783,3381860703188556851,'b0066d7108affe4b14a674a807dd53cc',NULL,13150);
INSERT INTO "jobs" VALUES(3,'20261127T203208-673a2e','run','bronze','bronze.orders','2025-10-20','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:09.567866','2026-11-27 20:32:09.748966',2060,2060,0,0,1644505701100103200,9119356494854700305,'eddc140f15cfbbd1c0f569bf4d0a7697',NULL,13150);
INSERT INTO "jobs" VALUES(4,'20261127T203208-673a2e','run','bronze','bronze.orders','2025-10-21','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:09.753137','2026-11-27 20:32:09.856325',2060,2060,0,0,9119356494854700305,8432288390768807017,'d4f1f3c297692c5a91829eb966359342',NULL,13150);
INSERT INTO "jobs" VALUES(5,'20261127T203208-673a2e','run','silver','silver.customers_clean','2025-10-20','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:09.865752','2026-11-27 20:32:09.982000',500,500,0,0,100684719188229818,2825713760158420572,'91c45a1a329f275530d2affaffa6ff85',NULL,13150);
INSERT INTO "jobs" VALUES(6,'20261127T203208-673a2e','run','silver','silver.customers_clean','2025-10-21','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:09.985658','2026-11-27 20:32:10.074971',500,500,0,0,2825713760158420572,8748962242352460929,'11ca83ebe6c5ce2d4dec537cd1a2fbb9',NULL,13150);
INSERT INTO "jobs" VALUES(7,'20261127T203208-673a2e','run','silver','silver.orders_clean','2025-10-20','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:10.084033','2026-11-27 20:32:10.203701',2060,2000,0,60,987430253037533317,4160863778242907329,'6ea271e5470d94cc5856ed516042689a',NULL,13150);
INSERT INTO "jobs" VALUES(8,'20261127T203208-673a2e','run','silver','silver.orders_clean','2025-10-21','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:10.208216','2026-11-27 20:32:10.311814',2060,2000,0,60,4160863778242907329,3211353328571360425,'97233c22cf4272a6aa0129f87c76d411',NULL,13150);
INSERT INTO "jobs" VALUES(9,'20261127T203208-673a2e','run','gold','gold.customer_orders','2025-10-20','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:10.335972','2026-11-27 20:32:10.472078',2500,2000,0,0,4139106329995997480,7040959900108877737,'c889d6f40e6507938aed1619095a4d49',NULL,13150);
INSERT INTO "jobs" VALUES(10,'20261127T203208-673a2e','run','gold','gold.customer_orders','2025-10-21','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:10.475792','2026-11-27 20:32:10.589274',3000,2000,0,0,7040959900108877737,2506650395593714226,'4ceb344e7ec244a5de76d682e8cf505b',NULL,13150);
INSERT INTO "jobs" VALUES(11,'20261127T203208-673a2e','run','gold','gold.daily_revenue','2025-10-20','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:10.598222','2026-11-27 20:32:10.703336',2000,3,0,0,6365704807465755188,3219806633426801908,'7e0b6b19d8a05abe3f4c478e32d9eb0d',NULL,13150);
INSERT INTO "jobs" VALUES(12,'20261127T203208-673a2e','run','gold','gold.daily_revenue','2025-10-21','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:10.707428','2026-11-27 20:32:10.807093',2000,3,0,0,3219806633426801908,9034960471126477114,'8cebd224b313ca2355acdd20663caff6',NULL,13150);
CREATE TABLE leases (
	table_name VARCHAR(128) NOT NULL, 
	day DATE NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	acquired_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (table_name, day)
);
CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	value FLOAT NOT NULL, 
	layer VARCHAR(16), 
	table_name VARCHAR(128), 
	source VARCHAR(128), 
	run_id VARCHAR(64), 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "metrics" VALUES(1,'BackfillJobsStarted',1.0,'bronze','bronze.hubspot_contacts','hubspot','20261127T203208-673a2e','2026-11-27 20:32:08.641661');
INSERT INTO "metrics" VALUES(2,'BackfillJobsSucceeded',1.0,'bronze','bronze.hubspot_contacts','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.406740');
INSERT INTO "metrics" VALUES(3,'BackfillDurationSeconds',0.765,'bronze','bronze.hubspot_contacts','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.407292');
INSERT INTO "metrics" VALUES(4,'BackfillJobsStarted',1.0,'bronze','bronze.hubspot_contacts','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.410750');
INSERT INTO "metrics" VALUES(5,'BackfillJobsSucceeded',1.0,'bronze','bronze.hubspot_contacts','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.557047');
INSERT INTO "metrics" VALUES(6,'BackfillDurationSeconds',0.146,'bronze','bronze.hubspot_contacts','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.558171');
INSERT INTO "metrics" VALUES(7,'BackfillJobsStarted',1.0,'bronze','bronze.orders','orders','20261127T203208-673a2e','2026-11-27 20:32:09.566358');
INSERT INTO "metrics" VALUES(8,'BackfillJobsSucceeded',1.0,'bronze','bronze.orders','orders','20261127T203208-673a2e','2026-11-27 20:32:09.747785');
INSERT INTO "metrics" VALUES(9,'BackfillDurationSeconds',0.181,'bronze','bronze.orders','orders','20261127T203208-673a2e','2026-11-27 20:32:09.748380');
INSERT INTO "metrics" VALUES(10,'BackfillJobsStarted',1.0,'bronze','bronze.orders','orders','20261127T203208-673a2e','2026-11-27 20:32:09.750921');
INSERT INTO "metrics" VALUES(11,'BackfillJobsSucceeded',1.0,'bronze','bronze.orders','orders','20261127T203208-673a2e','2026-11-27 20:32:09.855195');
INSERT INTO "metrics" VALUES(12,'BackfillDurationSeconds',0.104,'bronze','bronze.orders','orders','20261127T203208-673a2e','2026-11-27 20:32:09.855725');
INSERT INTO "metrics" VALUES(13,'BackfillJobsStarted',1.0,'silver','silver.customers_clean','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.864546');
INSERT INTO "metrics" VALUES(14,'BackfillJobsSucceeded',1.0,'silver','silver.customers_clean','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.980918');
INSERT INTO "metrics" VALUES(15,'BackfillDurationSeconds',0.116,'silver','silver.customers_clean','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.981462');
INSERT INTO "metrics" VALUES(16,'BackfillJobsStarted',1.0,'silver','silver.customers_clean','hubspot','20261127T203208-673a2e','2026-11-27 20:32:09.983817');
INSERT INTO "metrics" VALUES(17,'BackfillJobsSucceeded',1.0,'silver','silver.customers_clean','hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.073796');
INSERT INTO "metrics" VALUES(18,'BackfillDurationSeconds',0.09,'silver','silver.customers_clean','hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.074356');
INSERT INTO "metrics" VALUES(19,'BackfillJobsStarted',1.0,'silver','silver.orders_clean','orders','20261127T203208-673a2e','2026-11-27 20:32:10.082882');
INSERT INTO "metrics" VALUES(20,'BackfillJobsSucceeded',1.0,'silver','silver.orders_clean','orders','20261127T203208-673a2e','2026-11-27 20:32:10.202469');
INSERT INTO "metrics" VALUES(21,'BackfillDurationSeconds',0.12,'silver','silver.orders_clean','orders','20261127T203208-673a2e','2026-11-27 20:32:10.203135');
INSERT INTO "metrics" VALUES(22,'BackfillJobsStarted',1.0,'silver','silver.orders_clean','orders','20261127T203208-673a2e','2026-11-27 20:32:10.205711');
INSERT INTO "metrics" VALUES(23,'BackfillJobsSucceeded',1.0,'silver','silver.orders_clean','orders','20261127T203208-673a2e','2026-11-27 20:32:10.310625');
INSERT INTO "metrics" VALUES(24,'BackfillDurationSeconds',0.105,'silver','silver.orders_clean','orders','20261127T203208-673a2e','2026-11-27 20:32:10.311234');
INSERT INTO "metrics" VALUES(25,'BackfillJobsStarted',1.0,'gold','gold.customer_orders','orders,hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.330490');
INSERT INTO "metrics" VALUES(26,'BackfillJobsSucceeded',1.0,'gold','gold.customer_orders','orders,hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.470936');
INSERT INTO "metrics" VALUES(27,'BackfillDurationSeconds',0.14,'gold','gold.customer_orders','orders,hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.471528');
INSERT INTO "metrics" VALUES(28,'BackfillJobsStarted',1.0,'gold','gold.customer_orders','orders,hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.473920');
INSERT INTO "metrics" VALUES(29,'BackfillJobsSucceeded',1.0,'gold','gold.customer_orders','orders,hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.588177');
INSERT INTO "metrics" VALUES(30,'BackfillDurationSeconds',0.114,'gold','gold.customer_orders','orders,hubspot','20261127T203208-673a2e','2026-11-27 20:32:10.588715');
INSERT INTO "metrics" VALUES(31,'BackfillJobsStarted',1.0,'gold','gold.daily_revenue','orders','20261127T203208-673a2e','2026-11-27 20:32:10.597032');
INSERT INTO "metrics" VALUES(32,'BackfillJobsSucceeded',1.0,'gold','gold.daily_revenue','orders','20261127T203208-673a2e','2026-11-27 20:32:10.702160');
INSERT INTO "metrics" VALUES(33,'BackfillDurationSeconds',0.105,'gold','gold.daily_revenue','orders','20261127T203208-673a2e','2026-11-27 20:32:10.702785');
INSERT INTO "metrics" VALUES(34,'BackfillJobsStarted',1.0,'gold','gold.daily_revenue','orders','20261127T203208-673a2e','2026-11-27 20:32:10.705181');
INSERT INTO "metrics" VALUES(35,'BackfillJobsSucceeded',1.0,'gold','gold.daily_revenue','orders','20261127T203208-673a2e','2026-11-27 20:32:10.802027');
INSERT INTO "metrics" VALUES(36,'BackfillDurationSeconds',0.097,'gold','gold.daily_revenue','orders','20261127T203208-673a2e','2026-11-27 20:32:10.802602');
CREATE TABLE partition_marks (
	table_name VARCHAR(128) NOT NULL, 
	day DATE NOT NULL, 
	mark VARCHAR(16) NOT NULL, 
	reason TEXT, 
	run_id VARCHAR(64), 
	at DATETIME NOT NULL, 
	PRIMARY KEY (table_name, day)
);
CREATE TABLE partitions (
	table_name VARCHAR(128) NOT NULL, 
	day DATE NOT NULL, 
	input_key VARCHAR(64) NOT NULL, 
	files_key VARCHAR(64) NOT NULL, 
	snapshot_id BIGINT, 
	run_id VARCHAR(64) NOT NULL, 
	rows BIGINT, 
	built_at DATETIME NOT NULL, 
	PRIMARY KEY (table_name, day)
);
INSERT INTO "partitions" VALUES('bronze.hubspot_contacts','2025-10-20','37aecf3dc0cfc12b79234bff34620c24','f0262ef3f532fe5a456a60d7e8976d77',2983846214782293783,'20261127T203208-673a2e',500,'2026-11-27 20:32:09.404230');
INSERT INTO "partitions" VALUES('bronze.hubspot_contacts','2025-10-21','b0066d7108affe4b14a674a807dd53cc','24b3be0db89269d58b759998cf4ef514',3381860703188556851,'20261127T203208-673a2e',500,'2026-11-27 20:32:09.553936');
INSERT INTO "partitions" VALUES('bronze.orders','2025-10-20','eddc140f15cfbbd1c0f569bf4d0a7697','caf93047297c9f52ffb5187661013c0d',9119356494854700305,'20261127T203208-673a2e',2060,'2026-11-27 20:32:09.745190');
INSERT INTO "partitions" VALUES('bronze.orders','2025-10-21','d4f1f3c297692c5a91829eb966359342','93c1c0cb8506b7f78f95de45fbef5901',8432288390768807017,'20261127T203208-673a2e',2060,'2026-11-27 20:32:09.853587');
INSERT INTO "partitions" VALUES('silver.customers_clean','2025-10-20','91c45a1a329f275530d2affaffa6ff85','7774b7760bb517df293810626d257f46',2825713760158420572,'20261127T203208-673a2e',500,'2026-11-27 20:32:09.979878');
INSERT INTO "partitions" VALUES('silver.customers_clean','2025-10-21','11ca83ebe6c5ce2d4dec537cd1a2fbb9','bfd8b8c92ef02f3ac661b15433bdcdc0',8748962242352460929,'20261127T203208-673a2e',500,'2026-11-27 20:32:10.072774');
INSERT INTO "partitions" VALUES('silver.orders_clean','2025-10-20','6ea271e5470d94cc5856ed516042689a','15852403a8ce66d81f3f16842a223626',4160863778242907329,'20261127T203208-673a2e',2000,'2026-11-27 20:32:10.200505');
INSERT INTO "partitions" VALUES('silver.orders_clean','2025-10-21','97233c22cf4272a6aa0129f87c76d411','1f982799c4eb64c01276d4553db28b54',3211353328571360425,'20261127T203208-673a2e',2000,'2026-11-27 20:32:10.309477');
INSERT INTO "partitions" VALUES('gold.customer_orders','2025-10-20','c889d6f40e6507938aed1619095a4d49','7e81905fe161ec53c8490f71c0d976f9',7040959900108877737,'20261127T203208-673a2e',2000,'2026-11-27 20:32:10.469848');
INSERT INTO "partitions" VALUES('gold.customer_orders','2025-10-21','4ceb344e7ec244a5de76d682e8cf505b','ff89df966b5d8ac852c186179d937867',2506650395593714226,'20261127T203208-673a2e',2000,'2026-11-27 20:32:10.587119');
INSERT INTO "partitions" VALUES('gold.daily_revenue','2025-10-20','7e0b6b19d8a05abe3f4c478e32d9eb0d','72129940c8e7bb557a5a6b20ea69801a',3219806633426801908,'20261127T203208-673a2e',3,'2026-11-27 20:32:10.701075');
INSERT INTO "partitions" VALUES('gold.daily_revenue','2025-10-21','8cebd224b313ca2355acdd20663caff6','a14d0fadd1a9539077683d37e652188c',9034960471126477114,'20261127T203208-673a2e',3,'2026-11-27 20:32:10.800857');
CREATE TABLE pauses (
	table_name VARCHAR(128) NOT NULL, 
	reason TEXT NOT NULL, 
	user VARCHAR(128), 
	since DATETIME NOT NULL, 
	PRIMARY KEY (table_name)
);
INSERT INTO "pauses" VALUES('silver.orders_clean','fixture pause','root','2026-11-27 20:32:22.403802');
CREATE TABLE runs (
	run_id VARCHAR(64) NOT NULL, 
	command VARCHAR(64) NOT NULL, 
	args JSON NOT NULL, 
	reason TEXT, 
	user VARCHAR(128), 
	host VARCHAR(255), 
	status VARCHAR(16) NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	error TEXT, 
	pid INTEGER, 
	PRIMARY KEY (run_id)
);
INSERT INTO "runs" VALUES('20261127T203208-673a2e','run','{"days": ["2025-10-20", "2025-10-21"], "tables": ["bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean", "silver.orders_clean", "gold.customer_orders", "gold.daily_revenue"]}','pre-alembic fixture','root','vm','succeeded','2026-11-27 20:32:08.077877','2026-11-27 20:32:10.810350',NULL,13150);
CREATE TABLE source_files (
	table_name VARCHAR(128) NOT NULL, 
	day DATE NOT NULL, 
	path VARCHAR(1024) NOT NULL, 
	size BIGINT NOT NULL, 
	mtime VARCHAR(64) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	PRIMARY KEY (table_name, day, path)
);
INSERT INTO "source_files" VALUES('bronze.hubspot_contacts','2025-10-20','hubspot/contacts/2025-10-20/contacts-0001.jsonl',200965,'2026-11-27T20:32:07.293604+00:00','4e7b3aeb7339c27ccf3a7cb2e718f534807fbb9c1f86620b3ebe490c88a1d2e1','20261127T203208-673a2e','2026-11-27 20:32:09.405014');
INSERT INTO "source_files" VALUES('bronze.hubspot_contacts','2025-10-21','hubspot/contacts/2025-10-21/contacts-0001.jsonl',201295,'2026-11-27T20:32:07.326836+00:00','8f4b27cebe2c1ed3d03c8d387ef8316a586c4dddd58d32354259027f5bf1131b','20261127T203208-673a2e','2026-11-27 20:32:09.554816');
INSERT INTO "source_files" VALUES('bronze.orders','2025-10-20','orders/2025-10-20/orders-0001.csv',109805,'2026-11-27T20:32:07.321688+00:00','aa3ed69384fe9bc9752898d46d57b7935c472bca635cdb66ceec72d0744a3d10','20261127T203208-673a2e','2026-11-27 20:32:09.745671');
INSERT INTO "source_files" VALUES('bronze.orders','2025-10-20','orders/2025-10-20/orders-0002.csv',109889,'2026-11-27T20:32:07.322797+00:00','5426306b124d919ee0822f3ebade258adb25b8fd2fca3e8144f4adb2fcac38a2','20261127T203208-673a2e','2026-11-27 20:32:09.745671');
INSERT INTO "source_files" VALUES('bronze.orders','2025-10-21','orders/2025-10-21/orders-0001.csv',109795,'2026-11-27T20:32:07.332839+00:00','dbfd30cfecf1c82eaf226aaf816ad4d2f349481cbffa75712b21562234c55a51','20261127T203208-673a2e','2026-11-27 20:32:09.854075');
INSERT INTO "source_files" VALUES('bronze.orders','2025-10-21','orders/2025-10-21/orders-0002.csv',109599,'2026-11-27T20:32:07.333753+00:00','b1a273d4904f2b79ada098f626c8665a925bc800d34a32de1e6848736f06cf45','20261127T203208-673a2e','2026-11-27 20:32:09.854075');
CREATE INDEX ix_jobs_run_id ON jobs (run_id);
CREATE INDEX ix_jobs_table_name ON jobs (table_name);
CREATE INDEX ix_metrics_name ON metrics (name);
CREATE INDEX ix_metrics_at ON metrics (at);
CREATE INDEX ix_dq_results_check_run ON dq_results (check_run);
CREATE INDEX ix_dq_results_run_at ON dq_results (run_at);
CREATE INDEX ix_dq_results_table_name ON dq_results (table_name);
CREATE INDEX ix_incident_notes_incident_id ON incident_notes (incident_id);
COMMIT;
