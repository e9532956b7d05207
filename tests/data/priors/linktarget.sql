-- MariaDB dump 10.19  Distrib 10.5.23-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: db1100    Database: enwiki
-- ------------------------------------------------------
-- Server version	10.6.17-MariaDB-log
-- Hand-written for wikisearch's tests: the link targets of tests/data/priors_links.xml.

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;

--
-- Table structure for table `linktarget`
--

DROP TABLE IF EXISTS `linktarget`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `linktarget` (
  `lt_id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `lt_namespace` int(11) NOT NULL,
  `lt_title` varbinary(255) NOT NULL,
  PRIMARY KEY (`lt_id`),
  UNIQUE KEY `lt_namespace_title` (`lt_namespace`,`lt_title`)
) ENGINE=InnoDB AUTO_INCREMENT=14 DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `linktarget`
--

/*!40000 ALTER TABLE `linktarget` DISABLE KEYS */;
INSERT INTO `linktarget` VALUES (1,0,'Paris'),(2,0,'France'),(3,0,'Seine'),(4,0,'Paris,_Texas'),(5,0,'Paris_(France)'),(6,0,'City_of_Light'),(7,0,'Tour_Eiffel');
INSERT INTO `linktarget` VALUES (8,0,'Nowhere_in_particular'),(9,0,'Texas'),(10,0,'Eiffel_Tower'),(11,14,'Capitals_in_Europe'),(12,10,'Paris'),(13,0,'Rock_\'n\'_roll_(\"1955\")');
/*!40000 ALTER TABLE `linktarget` ENABLE KEYS */;

/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2024-09-01  0:00:00
